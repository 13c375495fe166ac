/**
 * The thin `server.ts` of every demo service: config from process.env, build, listen,
 * one `ready` line with the URL, graceful close on SIGTERM/SIGINT (10 s hard limit).
 * @see https://github.com/mcollina/close-with-grace
 */
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadServiceConfig, type ServiceConfig } from './config.js'

export const CLOSE_TIMEOUT_MS = 10_000

export interface RunServiceOptions {
  /** Service name, used in the `ready` line. */
  name: string
  /** Env prefix: `ORDERS` reads ORDERS_HOST and ORDERS_PORT. */
  envPrefix: string
  defaultPort: number
  build: (config: ServiceConfig) => FastifyInstance | Promise<FastifyInstance>
}

/** `http://host:port` for a listening address; IPv6 hosts in brackets. */
export function urlFor (host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export async function runService (opts: RunServiceOptions, env: NodeJS.ProcessEnv = process.env): Promise<FastifyInstance> {
  let config: ServiceConfig
  try {
    config = loadServiceConfig(env, opts.envPrefix, opts.defaultPort)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${opts.name}: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
  const app = await opts.build(config)
  closeWithGrace({ delay: CLOSE_TIMEOUT_MS, logger: false, onTimeout: (delay) => app.log.error(`close took over ${delay} ms, exiting`) },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'closing after an uncaught error')
      else if (signal) app.log.info(`${signal} received, closing`)
      await app.close()
    })
  await app.listen({ host: config.host, port: config.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = urlFor(config.host, port)
  app.log.info({ url }, `${opts.name} ready at ${url}`)
  return app
}
