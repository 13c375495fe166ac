/**
 * Graceful close in three steps, as nginx drains:
 * 1. Stop accepting connections, but keep answering requests that arrive on open ones for a
 *    drain period: a pooled client that sends just then gets its answer, not a reset.
 * 2. From the first step on, every response says `Connection: close`, so clients move off.
 * 3. Then Fastify's close: idle connections end, in-flight requests finish (new ones get
 *    503), onClose hooks run. The caller's hard limit (serve.ts) bounds the whole.
 * @see https://fastify.dev/docs/latest/Reference/Server/#forcecloseconnections
 */
import { Server } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** How long open connections are still served after a shutdown signal, by default. */
export const DEFAULT_DRAIN_MS = 1500

const closing = new WeakSet<FastifyInstance>()

/** Once draining or closing, every response carries `Connection: close` and its socket ends after it. */
export function closeConnectionsWhenClosing (app: FastifyInstance): void {
  app.addHook('preClose', (done) => { closing.add(app); done() })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing.has(app)) reply.header('connection', 'close')
    done(null, payload)
  })
}

/** True from the start of the drain: /readyz answers 503 so balancers stop sending. */
export function isDraining (app: FastifyInstance): boolean {
  return closing.has(app)
}

const drains = new WeakMap<FastifyInstance, Promise<void>>()

/** Steps 1-3 above; resolves once the app is closed. A second call joins the first. */
export function drainAndClose (app: FastifyInstance, drainMs = DEFAULT_DRAIN_MS): Promise<void> {
  let drain = drains.get(app)
  if (drain === undefined) {
    drain = drainThenClose(app, drainMs)
    drains.set(app, drain)
  }
  return drain
}

async function drainThenClose (app: FastifyInstance, drainMs: number): Promise<void> {
  closing.add(app)
  // net.Server's close only stops listening; http.Server's would also drop idle keep-alive
  // connections at once, racing a client that is about to reuse one.
  if (app.server.listening) Server.prototype.close.call(app.server)
  if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs))
  await app.close()
}
