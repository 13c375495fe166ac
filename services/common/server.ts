/** The whole `server.ts` of a demo business service: config, tracing, build, serve (services/kernel). */
import type { FastifyInstance } from 'fastify'
import { configOrExit, serve } from '../kernel/serve.js'
import { startTracing } from '../kernel/tracing.js'
import { loadServiceConfig, type ServiceConfig } from './config.js'

export interface RunServiceOptions {
  /** Service name, used in the `ready` line. */
  name: string
  /** Env prefix: `ORDERS` reads ORDERS_HOST and ORDERS_PORT. */
  envPrefix: string
  defaultPort: number
  build: (config: ServiceConfig) => FastifyInstance | Promise<FastifyInstance>
}

export async function runService (opts: RunServiceOptions): Promise<void> {
  const config = configOrExit(opts.name, () => loadServiceConfig(process.env, opts.envPrefix, opts.defaultPort))
  if (config.tracing) await startTracing(config.tracing)
  const app = await opts.build(config)
  await serve(app, { name: opts.name, host: config.host, port: config.port })
}
