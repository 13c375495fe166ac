/**
 * The upstream answer's headers on their way back (reply-from's rewriteHeaders, proxy.ts): only
 * those that are the client's business go on.
 *
 * - hop-by-hop ones (RFC 9110 7.6.1): the upstream connection's own, e.g. its `Connection:
 *   keep-alive`, which would override a client's `Connection: close`
 * - every header the upstream's Connection names
 * - the gateway's alone: CORS, and the security headers it does not overwrite on every response
 *   (HSTS only over HTTPS; no report-only policy); the gateway's own are written in onSend (index.ts)
 */
import { connectionListed } from '../pipeline/http.js'
import { CORS_RESPONSE_HEADERS } from './cors-headers.js'

export type ResponseHeaders = Record<string, string | string[] | undefined>

const DROPPED_FROM_UPSTREAM: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade',
  ...CORS_RESPONSE_HEADERS, 'strict-transport-security', 'content-security-policy-report-only',
])

/** A copy of the upstream's headers without those (a copy: deleting keys would slow the object down). */
export function upstreamResponseHeaders (headers: ResponseHeaders): ResponseHeaders {
  const connection = headers.connection
  const named = connection === undefined || connection === 'keep-alive' || connection === 'close'
    ? undefined
    : new Set(connectionListed(connection))
  const out: ResponseHeaders = {}
  for (const name in headers) {
    if (!DROPPED_FROM_UPSTREAM.has(name) && !named?.has(name)) out[name] = headers[name]
  }
  return out
}
