/**
 * Write identity, after stage 8 (index.ts): the headers sent upstream, built in reply-from's
 * rewriteRequestHeaders (proxy.ts), which calls it as (request, headers) after removing the
 * Connection-listed headers.
 *
 * - client identity and forwarding headers stripped again (strip-headers.ts)
 * - the identity written only from the session's verified token, the request id, and
 *   x-forwarded-for / -proto from what the gateway saw
 * - the identity assertion (identity-assertion/) as x-identity-token, when the proxy has one
 * - rules without forwardCredentials lose the Authorization and DPoP headers and the auth cookies
 * - x-forwarded-host: the Host the client sent (the auth service builds a DPoP proof's htu from it)
 * - while tracing, the client's traceparent gives way to the gateway's (ops/tracing.ts)
 */
import type { IncomingHttpHeaders } from 'node:http'
import { COOKIES } from '../../../auth-service/src/contract.js'
import { IDENTITY_HEADERS, formatRoles, type Identity } from '../contract.js'
import { withoutClientTraceContext } from '../ops/tracing.js'
import { stripClientHeaders } from './strip-headers.js'

const AUTH_COOKIES = new Set<string>(Object.values(COOKIES))

export interface OutgoingContext {
  identity: Identity | null
  /** The signed identity assertion for this route, if it gets one. */
  identityToken?: string | undefined
  requestId: string
  clientIp: string
  protocol: string
  forwardCredentials: boolean
  /** The client's Host header (reply-from replaces Host with the upstream's). */
  host?: string
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
  withoutClientTraceContext(out)
  if (!ctx.forwardCredentials) {
    delete out.authorization
    delete out.dpop
    const cookie = withoutAuthCookies(out.cookie)
    if (cookie === undefined) delete out.cookie
    else out.cookie = cookie
  }
  out['x-forwarded-for'] = ctx.clientIp
  out['x-forwarded-proto'] = ctx.protocol
  if (ctx.host !== undefined) out['x-forwarded-host'] = ctx.host
  out[IDENTITY_HEADERS.requestId] = ctx.requestId
  if (ctx.identity) {
    out[IDENTITY_HEADERS.subject] = ctx.identity.subject
    out[IDENTITY_HEADERS.roles] = formatRoles(ctx.identity.roles)
    out[IDENTITY_HEADERS.session] = ctx.identity.session
  }
  if (ctx.identityToken !== undefined) out[IDENTITY_HEADERS.assertion] = ctx.identityToken
  return out
}
