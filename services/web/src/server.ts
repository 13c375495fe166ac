/**
 * Entry point of the web app server: `node --import tsx services/web/src/server.ts`.
 */
import closeWithGrace from 'close-with-grace'
import { buildWebServer } from './app.js'
import { loadConfig } from './config.js'

const config = loadConfig(process.env)
const app = await buildWebServer(config, {
  logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'] },
})

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})

const address = await app.listen({ host: config.host, port: config.port })
app.log.info(`web app ready at ${address}`)
