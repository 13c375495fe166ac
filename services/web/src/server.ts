/**
 * Entry point of the web app server: `node --import tsx services/web/src/server.ts`.
 */
import { loggerOptions } from '../../kernel/logging.js'
import { configOrExit, serve } from '../../kernel/serve.js'
import { buildWebServer } from './app.js'
import { loadConfig } from './config.js'

const config = configOrExit('web app', () => loadConfig(process.env))
const app = await buildWebServer(config, { logger: loggerOptions(config.logLevel) })
await serve(app, { name: 'web app', host: config.host, port: config.port })
