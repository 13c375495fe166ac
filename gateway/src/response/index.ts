/**
 * The response side: every answer, refusals too, gets in onSend (over whatever the upstream
 * sent) the request id, the security headers (security-headers.ts) and CORS with
 * `Vary: Origin` (cors-headers.ts). Upstream headers are filtered on the way in (upstream-headers.ts).
 * (`Connection: close` on an answer sent before the request's body was read is the kernel's
 * closeConnectionsWhenDone, as in every process.)
 */
import fp from 'fastify-plugin'
import { kGatewaySession } from '../pipeline/session.js'
import { createCorsGrants, createCorsHeaders } from './cors-headers.js'
import { createSecurityHeaderWriter } from './security-headers.js'

export interface ResponseHeadersOptions {
  corsOrigins: readonly string[]
}

export const responseHeaders = fp(async function responseHeaders (app, opts: ResponseHeadersOptions) {
  const security = createSecurityHeaderWriter()
  const cors = createCorsHeaders(createCorsGrants(opts.corsOrigins))
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    security(reply, request[kGatewaySession])
    const origin = request.headers.origin
    cors(typeof origin === 'string' ? origin : undefined, reply)
    done(null, payload)
  })
}, { name: 'gateway-response-headers' })
