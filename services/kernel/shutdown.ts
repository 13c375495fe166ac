/**
 * Graceful close in three steps, as nginx drains:
 * 1. Stop accepting connections, but keep answering requests that arrive on open ones for a
 *    drain period: a pooled client that sends just then gets its answer, not a reset.
 * 2. From the first step on, every response says `Connection: close`, so clients move off.
 * 3. Then Fastify's close: idle connections end, in-flight requests finish (new ones get
 *    503), onClose hooks run. The caller's hard limit (serve.ts) bounds the whole.
 * @see https://fastify.dev/docs/latest/Reference/Server/#forcecloseconnections
 */
import type { IncomingHttpHeaders } from 'node:http'
import { Server } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** How long open connections are still served after a shutdown signal, by default. */
export const DEFAULT_DRAIN_MS = 1500

const closing = new WeakSet<FastifyInstance>()

/** Did the client announce a body (one the server may not have read when it answers)? */
function hasRequestBody (headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * The one onSend hook that ends connections: a response carries `Connection: close`, and its
 * socket ends after it, once draining or closing, and when it goes out before the request's
 * body was read (an early 401, 413, 429...): no client is left on a connection with the rest
 * of its own upload in the way.
 */
export function closeConnectionsWhenDone (app: FastifyInstance): void {
  app.addHook('preClose', (done) => { closing.add(app); done() })
  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw
    if (closing.has(app) || (!raw.complete && hasRequestBody(raw.headers))) reply.header('connection', 'close')
    done(null, payload)
  })
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
