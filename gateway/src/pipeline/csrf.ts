/**
 * Pipeline stage 7, CSRF, by the rule's `csrf` policy; a failure is a CsrfError (403).
 *
 * - 'double-submit': an unsafe request authenticated by the access cookie (stage 5) must carry
 *   the CSRF header equal to the CSRF cookie, that token must be the verified session's (HMAC of
 *   the sid, so a token planted from another session never matches), and its Origin (else
 *   Referer) must be ours or a CORS origin; Bearer requests skip it (no browser adds that header)
 * - 'origin': cookie-carrying unsafe calls to the auth service (all but login and register) need
 *   an allowed Origin before they are proxied
 * - whatever the policy, a WebSocket upgrade authenticated by the access cookie needs an
 *   allowed Origin (cross-site WebSocket hijacking: a browser sends cookies on any page's socket)
 */
import type { FastifyRequest } from 'fastify'
import { COOKIES, CSRF_HEADER, csrfTokenMatches, timingSafeEqualStrings } from '../../../auth-service/src/contract.js'
import { CsrfError } from '../errors.js'
import { UNSAFE_METHODS, canonicalPath, cookieValues, headerString } from './http.js'
import type { Stage } from './stage.js'

export type CsrfReason = 'csrf_missing' | 'csrf_mismatch' | 'csrf_wrong_session' | 'origin_not_allowed'

/** /auth calls that create a session: no session cookie to abuse (their limit is the rate limiter). */
const SESSION_STARTING = new Set(['/auth/login', '/auth/register'])

export interface CsrfOptions {
  secret: string
  /** The gateway's own origins and the CORS origins. */
  allowedOrigins: readonly string[]
}

export interface CsrfInput {
  sid: string
  /** Every copy of the CSRF header. */
  headerValues: string[] | undefined
  cookie: string | undefined
  origin: string | undefined
  referer: string | undefined
}

/** The origin a request claims to come from: Origin, else the Referer's origin; null when neither (or "null"). */
export function requestOrigin (origin: string | undefined, referer: string | undefined): string | null {
  if (origin !== undefined) return origin === 'null' ? null : origin
  if (referer === undefined) return null
  try { return new URL(referer).origin } catch { return null }
}

export function originAllowed (
  origin: string | undefined, referer: string | undefined, allowed: readonly string[]
): boolean {
  const claimed = requestOrigin(origin, referer)
  return claimed !== null && allowed.includes(claimed)
}

/** Pure: the reason a cookie-authenticated unsafe request fails, or null when it passes. */
export function checkCsrf (input: CsrfInput, opts: CsrfOptions): CsrfReason | null {
  if (!originAllowed(input.origin, input.referer, opts.allowedOrigins)) return 'origin_not_allowed'
  const cookies = [...new Set(cookieValues(input.cookie, COOKIES.csrfToken))]
  const headers = input.headerValues ?? []
  if (cookies.length === 0 || headers.length === 0 || headers[0] === '') return 'csrf_missing'
  if (cookies.length > 1 || headers.length > 1) return 'csrf_mismatch'
  const sent = headers[0] as string
  if (!timingSafeEqualStrings(sent, cookies[0] as string)) return 'csrf_mismatch'
  if (!csrfTokenMatches(sent, input.sid, opts.secret)) return 'csrf_wrong_session'
  return null
}

/** Does this /auth request carry a session cookie the auth service would act on? */
export function authCallNeedsOrigin (method: string, url: string, cookie: string | undefined): boolean {
  if (!UNSAFE_METHODS.has(method)) return false
  const path = canonicalPath(url)
  if (!path.startsWith('/auth/') || SESSION_STARTING.has(path)) return false
  return cookieValues(cookie, COOKIES.refreshToken).length > 0 || cookieValues(cookie, COOKIES.accessToken).length > 0
}

function fail (request: FastifyRequest, reason: CsrfReason, ruleId: string): never {
  request.log.info({ ruleId, reason, method: request.method, url: request.url }, 'csrf check failed')
  throw new CsrfError(reason === 'origin_not_allowed'
    ? 'The request origin is not allowed'
    : 'Missing or wrong CSRF token (send the csrf_token cookie value in the x-csrf-token header)')
}

/** Stage 7. */
export function createCsrfStage (opts: CsrfOptions): Stage {
  return (request, _reply, { rule, identity, credentialSource, upgrade }) => {
    if (rule === undefined) return
    const headers = request.raw.headers
    if (upgrade && credentialSource === 'cookie') {
      if (originAllowed(headerString(headers.origin), undefined, opts.allowedOrigins)) return
      fail(request, 'origin_not_allowed', rule.id)
    }
    if (rule.csrf === 'none') return
    if (rule.csrf === 'origin') {
      if (!authCallNeedsOrigin(request.method, request.url, headers.cookie)) return
      if (originAllowed(headerString(headers.origin), headerString(headers.referer), opts.allowedOrigins)) return
      fail(request, 'origin_not_allowed', rule.id)
    }
    if (credentialSource !== 'cookie' || !identity || !UNSAFE_METHODS.has(request.method)) return
    const reason = checkCsrf({
      sid: identity.session,
      headerValues: request.raw.headersDistinct[CSRF_HEADER],
      cookie: headers.cookie,
      origin: headerString(headers.origin),
      referer: headerString(headers.referer),
    }, opts)
    if (reason) fail(request, reason, rule.id)
  }
}
