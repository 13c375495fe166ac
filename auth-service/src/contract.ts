/**
 * The auth service's outside contract: access-token shape, cookie names, and the
 * revocation records in Redis that gateways consume. A leaf module: constants, types
 * and pure functions only, imported by relative path by the gateway and scripts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The only signing algorithm, pinned on both sides. */
export const ACCESS_TOKEN_ALG = 'RS256'
/** JWT `typ` header of access tokens (RFC 9068); refresh tokens are opaque, never JWTs. */
export const ACCESS_TOKEN_TYP = 'at+jwt'

export const DEFAULT_ISSUER = 'urn:jwt-edge:auth'
export const DEFAULT_AUDIENCE = 'urn:jwt-edge:api'

/** Claims every access token carries. */
export interface AccessTokenClaims {
  iss: string
  aud: string
  sub: string
  exp: number
  iat: number
  jti: string
  /** Session id: the refresh-token family that minted this token. */
  sid: string
  roles: string[]
}
export const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'sid', 'roles'] as const

export const COOKIES = {
  /** HttpOnly, Path=/: the access token for cookie-authenticated browser requests. */
  accessToken: 'access_token',
  /** HttpOnly, Path=/auth: the opaque refresh token. */
  refreshToken: 'refresh_token',
  /** Readable by scripts, Path=/: double-submit CSRF token bound to the session. */
  csrfToken: 'csrf_token',
} as const
export const REFRESH_COOKIE_PATH = '/auth'
/** Header that must echo the CSRF cookie on unsafe cookie-authenticated requests. */
export const CSRF_HEADER = 'x-csrf-token'

/**
 * The CSRF token of a session: HMAC-SHA256(secret, sid), base64url. Both the auth service
 * (which sets the cookie) and the gateway (which checks it) derive it, so a token planted
 * from another session never matches.
 */
export function csrfTokenFor (sid: string, secret: string): string {
  return createHmac('sha256', secret).update(`csrf:${sid}`).digest('base64url')
}

/** Constant-time string equality (false on a length difference without comparing). */
export function timingSafeEqualStrings (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Is `sent` the CSRF token of session `sid` (constant-time compare with csrfTokenFor)? */
export function csrfTokenMatches (sent: string, sid: string, secret: string): boolean {
  return timingSafeEqualStrings(sent, csrfTokenFor(sid, secret))
}

/** Redis records of revocation, written by the auth service, read by gateways. */
export const REVOCATION = {
  /** Sorted set: member = sid, score = ms epoch after which no access token of it can be alive. */
  sessionsKey: (prefix: string) => `${prefix}revoked:sessions`,
  /** Sorted set: member = sub, score = ms epoch "not before" (logout-all); tokens with iat*1000 < score are revoked. */
  usersKey: (prefix: string) => `${prefix}revoked:users`,
  /** Pub/sub channel carrying one RevocationMessage (JSON) per revocation. */
  channel: (prefix: string) => `${prefix}revocations`,
} as const

/**
 * `at` (optional, ms epoch): when the auth service revoked; gateways use it to observe the
 * revocation lag. Messages without it stay valid.
 */
export type RevocationMessage =
  | { type: 'session', sid: string, until: number, at?: number }
  | { type: 'user', sub: string, notBefore: number, until: number, at?: number }

export const DEFAULT_REDIS_PREFIX = 'jwt-edge:'

export function parseRevocationMessage (raw: string): RevocationMessage | null {
  let value: unknown
  try { value = JSON.parse(raw) } catch { return null }
  if (typeof value !== 'object' || value === null) return null
  const m = value as Record<string, unknown>
  const at = typeof m.at === 'number' && Number.isFinite(m.at) ? { at: m.at } : {}
  if (m.type === 'session' && typeof m.sid === 'string' && typeof m.until === 'number') {
    return { type: 'session', sid: m.sid, until: m.until, ...at }
  }
  if (m.type === 'user' && typeof m.sub === 'string' && typeof m.notBefore === 'number' &&
    typeof m.until === 'number') {
    return { type: 'user', sub: m.sub, notBefore: m.notBefore, until: m.until, ...at }
  }
  return null
}

/**
 * Key-rotation events: after `npm run keys -- rotate|prune` the keys CLI publishes one
 * KeysChangedMessage (JSON) here; gateways refetch the JWKS and auth instances reload keys/.
 * Subscribers must treat any message on the channel as "keys changed" (the body is informational).
 */
export const KEYS_EVENTS = {
  channel: (prefix: string) => `${prefix}keys`,
} as const

export interface KeysChangedMessage {
  type: 'keys_changed'
  action: 'rotate' | 'prune'
  /** kid that signs after the change. */
  active: string
  /** kids published (next, active, retiring) after the change. */
  published: string[]
  /** ms epoch. */
  at: number
}
