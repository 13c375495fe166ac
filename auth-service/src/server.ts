/**
 * Auth service entry point: env → config → tracing → app → listen; graceful close on SIGTERM/SIGINT.
 */
import { configOrExit, serve } from '../../services/kernel/serve.js'
import { startTracing } from '../../services/kernel/tracing.js'
import { buildAuthService } from './app.js'
import { loadConfig } from './config.js'

const config = configOrExit('auth service', () => loadConfig(process.env))
await startTracing(config.tracing, { redis: true })
const app = await buildAuthService(config)

// SIGHUP re-reads keys/ (after `npm run keys -- rotate`) instead of closing the service.
process.on('SIGHUP', () => { app.reloadKeys?.('SIGHUP').catch(() => {}) })

await serve(app, { name: 'auth service', host: config.host, port: config.port, skipSignals: ['SIGHUP'] })
