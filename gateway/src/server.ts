/**
 * Gateway entry point: `node --import tsx gateway/src/server.ts`. The only file that reads
 * process.env; closes gracefully on SIGTERM/SIGINT (10 s hard limit).
 */
import { configOrExit, serve } from '../../services/kernel/serve.js'
import { buildGateway } from './app.js'
import { loadConfig } from './config.js'
import { closeWithPrimary, isClusterPrimary, runPrimary } from './ops/cluster.js'

const config = configOrExit('gateway', () => loadConfig(process.env))

// GATEWAY_WORKERS > 1: this process only forks and supervises the workers (ops/cluster.ts).
if (isClusterPrimary(config)) await runPrimary(config)

const app = buildGateway(config)
closeWithPrimary(app, config.shutdownDrainMs)
await serve(app, { name: 'gateway', host: config.host, port: config.port, drainMs: config.shutdownDrainMs })
