/**
 * Gateway entry point: `node --import tsx gateway/src/server.ts`. The only file that reads
 * process.env; closes gracefully on SIGTERM/SIGINT (10 s hard limit).
 *
 * The gateway file (GATEWAY_CONFIG, default gateway/gateway.yaml from the working directory) is
 * read here, with process.env for its ${VAR} placeholders; an invalid one stops the gateway with
 * every problem listed (exit 1), before anything listens or forks. Then each gateway process
 * follows it: a replaced file or SIGHUP reloads it (ops/reload.ts).
 */
import cluster from 'node:cluster'
import { ConfigError } from '../../services/kernel/env.js'
import { configOrExit, serve } from '../../services/kernel/serve.js'
import { startTracing } from '../../services/kernel/tracing.js'
import { buildGateway } from './app.js'
import { loadConfig } from './config.js'
import { DEFAULT_GATEWAY_FILE, loadGatewayFile } from './gateway-file/index.js'
import { closeWithPrimary, isClusterPrimary, runPrimary } from './ops/cluster.js'

const config = configOrExit('gateway', () => loadConfig(process.env))
const filePath = process.env.GATEWAY_CONFIG || DEFAULT_GATEWAY_FILE
const loaded = await loadGatewayFile(filePath, process.env)
const file = configOrExit('gateway', () => {
  if (!loaded.ok) throw new ConfigError(`gateway file (${filePath})`, loaded.problems)
  return loaded.file
})

// GATEWAY_WORKERS > 1: this process only forks and supervises the workers (ops/cluster.ts).
if (isClusterPrimary(config)) await runPrimary(config)

await startTracing(config.tracing) // before the app is built: its server and logger are traced
const app = buildGateway(config, { file, reload: { path: filePath, env: process.env } })
app.log.info({ gatewayFile: filePath, version: file.version, routes: file.routes.length }, 'gateway file loaded')
closeWithPrimary(app, config.shutdownDrainMs)
// A worker says it listens; the primary says `gateway ready at` once all of them do.
const name = cluster.isWorker ? `gateway worker ${cluster.worker?.id ?? ''}`.trim() : 'gateway'
await serve(app, {
  name,
  host: config.host,
  port: config.port,
  drainMs: config.shutdownDrainMs,
  skipSignals: ['SIGHUP'],
  announce: !cluster.isWorker,
})
