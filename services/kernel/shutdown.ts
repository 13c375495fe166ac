/**
 * Graceful close, the part Fastify leaves to us: `close()` stops accepting, closes idle
 * keep-alive connections and waits for in-flight requests, but a connection busy at that
 * moment would stay open (idle, keep-alive) after its response, and the close would wait
 * for the client to hang up (up to keepAliveTimeout, past the 10 s hard limit). So once
 * closing, every response says `Connection: close` and its socket ends after it.
 * @see https://fastify.dev/docs/latest/Reference/Server/#forcecloseconnections
 */
import type { FastifyInstance } from 'fastify'

export function closeConnectionsWhenClosing (app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', (done) => { closing = true; done() })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}
