/**
 * Entry point of the web app server: `node --import tsx services/web/src/server.ts`.
 */
import { configOrExit, serve } from '../../common/server.js'
import { buildWebServer } from './app.js'
import { loadConfig } from './config.js'

const config = configOrExit('web app', () => loadConfig(process.env))
const app = await buildWebServer(config, {
  logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'] },
})
await serve(app, { name: 'web app', host: config.host, port: config.port })
