/**
 * Pipeline stage 4, write identity: builds the headers sent upstream (reply-from's
 * rewriteRequestHeaders, called as (request, headers) after it removed Connection-listed
 * headers). Strips client identity/forwarding headers again, then writes the identity only
 * from the verified token, the request id, and x-forwarded-for from the address the gateway
 * saw. Business routes lose the Authorization header and the auth cookies. And the way
 * back: the upstream answer's headers without those that are not the client's business.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { COOKIES } from '../../../auth-service/src/contract.js'
import { IDENTITY_HEADERS, formatRoles, type Identity } from '../contract.js'
import { connectionListed, stripClientHeaders } from './strip-headers.js'
import { CORS_RESPONSE_HEADERS } from '../browser/cors.js'

const AUTH_COOKIES = new Set<string>(Object.values(COOKIES))

export interface OutgoingContext {
  identity: Identity | null
  requestId: string
  clientIp: string
  protocol: string
  forwardCredentials: boolean
}

/** The Cookie header without the auth cookies; undefined when nothing is left. */
export function withoutAuthCookies (cookie: string | undefined): string | undefined {
  if (!cookie) return undefined
  const kept = cookie.split(';').map((p) => p.trim()).filter((pair) => {
    if (pair.length === 0) return false
    const eq = pair.indexOf('=')
    const name = (eq === -1 ? pair : pair.slice(0, eq)).trim()
    return !AUTH_COOKIES.has(name)
  })
  return kept.length > 0 ? kept.join('; ') : undefined
}

/** Rewrites `out` in place: reply-from hands rewriteRequestHeaders its own copy of the request headers. */
export function outgoingHeaders (out: IncomingHttpHeaders, ctx: OutgoingContext): IncomingHttpHeaders {
  stripClientHeaders(out)
  if (!ctx.forwardCredentials) {
    delete out.authorization
    const cookie = withoutAuthCookies(out.cookie)
    if (cookie === undefined) delete out.cookie
    else out.cookie = cookie
  }
  out['x-forwarded-for'] = ctx.clientIp
  out['x-forwarded-proto'] = ctx.protocol
  out[IDENTITY_HEADERS.requestId] = ctx.requestId
  if (ctx.identity) {
    out[IDENTITY_HEADERS.subject] = ctx.identity.subject
    out[IDENTITY_HEADERS.roles] = formatRoles(ctx.identity.roles)
    out[IDENTITY_HEADERS.session] = ctx.identity.session
  }
  return out
}

/**
 * Upstream response headers that never reach the client: hop-by-hop ones (RFC 9110 7.6.1:
 * the upstream connection's own, e.g. its `Connection: keep-alive`, which would override a
 * client's `Connection: close`), every header the upstream's Connection names, and the ones
 * that are the gateway's alone: CORS, and the security headers it does not overwrite on every
 * response (HSTS only over HTTPS; no report-only policy). reply-from's rewriteHeaders: the
 * gateway's own are written in onSend (app.ts).
 */
const DROPPED_FROM_UPSTREAM: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade',
  ...CORS_RESPONSE_HEADERS, 'strict-transport-security', 'content-security-policy-report-only',
])

/** A copy of the upstream's headers without those (a copy: deleting keys would slow the object down). */
export function upstreamResponseHeaders (headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const connection = headers.connection
  const named = connection === undefined || connection === 'keep-alive' || connection === 'close' ? undefined : new Set(connectionListed(connection))
  const out: Record<string, string | string[] | undefined> = {}
  for (const name in headers) {
    if (!DROPPED_FROM_UPSTREAM.has(name) && !named?.has(name)) out[name] = headers[name]
  }
  return out
}
