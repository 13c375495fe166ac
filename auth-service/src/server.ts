/**
 * Auth service entry point: env → config → app → listen; graceful close on SIGTERM/SIGINT.
 */
import closeWithGrace from 'close-with-grace'
import { buildAuthService } from './app.js'
import { ConfigError, loadConfig } from './config.js'

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message)
    process.exit(1)
  }
  throw err
}

const app = await buildAuthService(config)

// SIGHUP re-reads keys/ (after `npm run keys -- rotate`) instead of closing the service.
process.on('SIGHUP', () => { app.reloadKeys?.('SIGHUP').catch(() => {}) })

closeWithGrace({ delay: 10_000, skip: ['SIGHUP'] }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})

const url = await app.listen({ host: config.host, port: config.port })
app.log.info({ url }, `auth service ready at ${url}`)
