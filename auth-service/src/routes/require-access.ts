/**
 * Access-token authentication for the auth service's own protected routes (logout-all,
 * sessions): Bearer header, else the access cookie; the session must still be alive.
 * Cookie-authenticated unsafe requests must echo the CSRF token (double submit).
 */
import type { FastifyRequest } from 'fastify'
import { COOKIES, CSRF_HEADER, csrfTokenMatches, type AccessTokenClaims } from '../contract.js'
import { CsrfError, InvalidTokenError } from '../errors.js'
import type { Families } from '../refresh/families.js'
import type { AccessTokens } from '../tokens/access-token.js'

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AccessTokenClaims
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function bearerOrCookieToken (request: FastifyRequest): { token: string, viaCookie: boolean } | null {
  const header = request.headers.authorization
  if (typeof header === 'string') {
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim())
    return m?.[1] ? { token: m[1], viaCookie: false } : null
  }
  const cookie = request.cookies[COOKIES.accessToken]
  return cookie ? { token: cookie, viaCookie: true } : null
}

export interface AccessDeps {
  tokens: Pick<AccessTokens, 'verify'>
  families: Pick<Families, 'exists'>
  csrfSecret: string
}

export function requireAccess (deps: AccessDeps) {
  return async function requireAccessHook (request: FastifyRequest): Promise<void> {
    const found = bearerOrCookieToken(request)
    if (!found) throw new InvalidTokenError('An access token is required (Authorization: Bearer or the access cookie)')
    let claims: AccessTokenClaims
    try {
      claims = await deps.tokens.verify(found.token)
    } catch {
      throw new InvalidTokenError('The access token is invalid or expired')
    }
    if (found.viaCookie && !SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER]
      if (typeof sent !== 'string' || !csrfTokenMatches(sent, claims.sid, deps.csrfSecret)) {
        throw new CsrfError()
      }
    }
    if (!(await deps.families.exists(claims.sid))) throw new InvalidTokenError('The session has ended')
    request.auth = claims
  }
}
