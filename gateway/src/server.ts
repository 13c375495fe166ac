/**
 * Gateway entry point: `node --import tsx gateway/src/server.ts`. The only file that reads
 * process.env; closes gracefully on SIGTERM/SIGINT (10 s hard limit).
 */
import closeWithGrace from 'close-with-grace'
import { buildGateway } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { closeWithPrimary, isClusterPrimary, runPrimary } from './cluster.js'

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

// GATEWAY_WORKERS > 1: this process only forks and supervises the workers (cluster.ts).
if (isClusterPrimary(config)) await runPrimary(config)

const app = buildGateway(config)
closeWithPrimary(app)

closeWithGrace({
  delay: 10_000,
  onTimeout: () => app.log.error('graceful close timed out after 10 s, exiting'),
}, async ({ err, signal }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})

const url = await app.listen({ host: config.host, port: config.port })
app.log.info({ url }, `gateway ready at ${url}`)
