/**
 * Access-token authentication for the auth service's own protected routes (logout-all,
 * sessions): Bearer header, else the access cookie; the session must still be alive.
 * Cookie-authenticated unsafe requests must echo the CSRF token (double submit).
 * A DPoP-bound token (cnf.jkt) counts only as `Authorization: DPoP` with a proof by its key
 * (RFC 9449 section 7, as at the gateway).
 */
import type { FastifyRequest } from 'fastify'
import { COOKIES, CSRF_HEADER, csrfTokenMatches, type AccessTokenClaims } from '../contract.js'
import type { ProofCheck } from '../dpop.js'
import { CsrfError, InvalidDpopProofError, InvalidTokenError } from '../errors.js'
import type { Families } from '../refresh/families.js'
import type { AccessTokens } from '../tokens/access-token.js'

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AccessTokenClaims
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface FoundToken { token: string, viaCookie: boolean, dpop: boolean }

export function bearerOrCookieToken (request: FastifyRequest): FoundToken | null {
  const header = request.headers.authorization
  if (typeof header === 'string') {
    const m = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim())
    return m?.[2] ? { token: m[2], viaCookie: false, dpop: m[1]!.length === 4 } : null
  }
  const cookie = request.cookies[COOKIES.accessToken]
  return cookie ? { token: cookie, viaCookie: true, dpop: false } : null
}

export interface AccessDeps {
  tokens: Pick<AccessTokens, 'verify'>
  families: Pick<Families, 'exists'>
  csrfSecret: string
  checkProof: ProofCheck
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
    await checkBinding(deps, request, found, claims)
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

async function checkBinding (
  deps: AccessDeps, request: FastifyRequest, found: FoundToken, claims: AccessTokenClaims
): Promise<void> {
  const jkt = (claims as { cnf?: { jkt?: unknown } }).cnf?.jkt
  if (jkt === undefined) {
    if (found.dpop) throw new InvalidTokenError('The access token is not bound to a DPoP key')
    return
  }
  if (!found.dpop) throw new InvalidTokenError('The access token is bound to a key: send it as Authorization: DPoP')
  const proven = await deps.checkProof(request, found.token)
  if (proven === undefined) throw new InvalidDpopProofError('A DPoP proof is required with this token')
  if (proven !== jkt) throw new InvalidDpopProofError('The DPoP proof is not signed by the token\'s key')
}
