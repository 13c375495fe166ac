/**
 * What every process's thin `server.ts` does, in one place: config from process.env (every
 * bad variable printed, exit 1), listen, one `<name> ready at <url>` line, and a graceful
 * close on SIGTERM/SIGINT (a drain, then close, then the last spans exported: tracing.ts) with a
 * 10 s hard limit.
 * @see https://github.com/mcollina/close-with-grace
 */
import closeWithGrace, { type Options as CloseWithGraceOptions } from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { ConfigError } from './env.js'
import { DEFAULT_DRAIN_MS, drainAndClose } from './shutdown.js'
import { stopTracing } from './tracing.js'

const CLOSE_TIMEOUT_MS = 10_000

/** `http://host:port` for a listening address; IPv6 hosts in brackets. */
export function urlFor (host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** Runs a config loader; a ConfigError (it lists every bad variable) is printed and ends the process. */
export function configOrExit<C> (name: string, load: () => C): C {
  try {
    return load()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${name}: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
}

export interface ServeOptions {
  /** Used in the `ready` line, e.g. `gateway ready at http://127.0.0.1:8080`. */
  name: string
  host: string
  port: number
  /** Signals close-with-grace must leave alone (the auth service reloads keys on SIGHUP). */
  skipSignals?: CloseWithGraceOptions['skip']
  /** How long open connections are still served after SIGTERM/SIGINT (shutdown.ts). */
  drainMs?: number
  /**
   * false: log `<name> listening at <url>` instead of the ready line, for a process that is one
   * of several behind a primary which announces readiness itself (the gateway's cluster workers).
   */
  announce?: boolean
}

/** Installs the graceful close, listens, logs the `ready` line (see `announce`); resolves with the URL. */
export async function serve (app: FastifyInstance, opts: ServeOptions): Promise<string> {
  closeWithGrace({
    delay: CLOSE_TIMEOUT_MS,
    logger: false,
    skip: opts.skipSignals,
    onTimeout: (delay) => app.log.error(`close took over ${delay} ms, exiting`),
  }, async ({ signal, err }) => {
    if (err) {
      app.log.error({ err }, 'closing after an uncaught error')
      await app.close()
      await stopTracing()
      return
    }
    if (signal) app.log.info({ signal }, 'closing')
    await drainAndClose(app, opts.drainMs ?? DEFAULT_DRAIN_MS)
    await stopTracing() // the spans still buffered are exported
  })
  await app.listen({ host: opts.host, port: opts.port })
  const address = app.server.address()
  const url = urlFor(opts.host, typeof address === 'object' && address ? address.port : opts.port)
  app.log.info({ url }, `${opts.name} ${opts.announce === false ? 'listening' : 'ready'} at ${url}`)
  return url
}
