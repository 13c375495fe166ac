/**
 * Pipeline stage 5, authenticate (rules with auth 'required' or 'optional'): the one credential,
 * verified, becomes the session's identity; any failure is a TokenDenial with a stable reason.
 * 'optional': no credential at all goes on anonymously; a bad, expired or revoked one is still 401.
 *
 * - pre-check first (credentials.ts, 4a), then the verified-token cache (token-cache.ts, 4b)
 * - a miss verifies against the key store (RS256 only, iss, aud, typ at+jwt, required claims,
 *   clock tolerance) with node:crypto (fast-verify.ts, 4c) or jose (VERIFY_IMPLEMENTATION=jose);
 *   jose errors are mapped by `err.code`
 * - then the claims' shape and `iat`, and revocation, which is checked on every hit as well
 * - then, hit or miss, a DPoP-bound token's proof (dpop.ts, 5d)
 * - a token of another provider (the gateway file's `providers`, picked by `iss` before any
 *   signature work) is verified by external-provider.ts instead, and never cached; the route's
 *   `providers` must list the token's provider (else 401 provider_not_allowed)
 */
import type { FastifyRequest } from 'fastify'
import { jwtVerify, type JWSHeaderParameters, type CryptoKey, type JWTPayload } from 'jose'
import { ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP, REQUIRED_CLAIMS } from '../../../auth-service/src/contract.js'
import type { Identity } from '../contract.js'
import { invalidToken, isDenial, type AnyDenial } from '../errors.js'
import { authorizationHeaders, extractCredential, precheckToken, type Credential } from './credentials.js'
import { boundKey, type DpopCheck, type TokenBinding } from './dpop.js'
import { issuerOf, type ExternalProvider } from './external-provider.js'
import { isHeaderSafe, isRoleList } from './identity-claims.js'
import { createFastVerifier, type Verified, type VerifyToken } from './fast-verify.js'
import type { GatewaySession } from './session.js'
import type { Stage } from './stage.js'
import type { CachedToken, TokenCache } from './token-cache.js'

export interface AuthenticatorOptions {
  /** The local provider's id in the gateway file (what a route's `providers` names). */
  providerId?: string
  /** The other providers, by issuer. */
  external?: ReadonlyMap<string, ExternalProvider>
  issuer: string
  /** One audience, or several (any one of them). */
  audience: string | readonly string[]
  clockToleranceS: number
  maxTokenBytes: number
  getKey: (header: JWSHeaderParameters) => Promise<CryptoKey>
  isRevoked: (sid: string, sub: string, iat: number) => boolean
  /** 'fast' (node:crypto, fast-verify.ts; the default) or 'jose' (the reference, jwtVerify). */
  verifyImplementation?: 'fast' | 'jose'
  /** Verified-token cache (token-cache.ts); revocation and the key are still checked on every hit. */
  cache?: TokenCache
  /** Is this key object still held, and the key set fresh (key-store.ts)? Cache hits need it. */
  isCurrentKey?: (key: CryptoKey) => boolean
}

export interface AuthInput {
  /** Every Authorization header (request.raw.headersDistinct.authorization). */
  authorization: string[] | undefined
  cookie: string | undefined
}

/**
 * What `authenticate` returns: the identity, or null when the request carries no credential at
 * all. Synchronous when the answer needs no verification (no credential, or a cache hit), so the
 * pipeline does not await; a promise only when a token must be verified. Throws a TokenDenial.
 */
export type AuthResult = Authenticated | null | Promise<Authenticated>

export interface Authenticated {
  identity: Identity
  source: Credential['source']
  /** The provider id the token is from. */
  provider: string
  /** The token's exp (epoch seconds): the identity assertion never outlives it. */
  exp: number
  /** The token itself: a live connection reads its iat and kid (live/owner.ts). */
  token: string
  /** For the DPoP check (dpop.ts); absent: a token without cnf sent as Bearer or cookie. */
  binding?: TokenBinding
}

const bindingOf = (found: Credential, jkt: string | undefined): TokenBinding | undefined =>
  jkt === undefined && found.dpop !== true ? undefined : { token: found.token, jkt, dpop: found.dpop === true }

/** jose error -> stable denial. Anything that is not a jose or denial error is rethrown (a bug, a 500). */
export function mapVerifyError (err: unknown): AnyDenial {
  if (isDenial(err)) return err
  const code = (err as { code?: unknown })?.code
  const claim = (err as { claim?: unknown })?.claim
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return invalidToken('token_expired', 'token expired')
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalidToken('bad_signature', 'signature verification failed')
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return invalidToken('alg_not_allowed', 'alg not allowed')
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalidToken('no_matching_key', 'no key matches the token kid')
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claim === 'nbf'
        ? invalidToken('token_not_yet_valid', 'token not yet valid')
        : invalidToken('claim_invalid', typeof claim === 'string' ? `claim ${claim} invalid` : 'claim invalid')
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return invalidToken('malformed_token', 'malformed token')
    default:
      throw err
  }
}

export interface CheckedClaims { identity: Identity, exp: number }

export function checkClaims (payload: JWTPayload, nowS: number, toleranceS: number): CheckedClaims {
  const { sub, sid, jti, roles, iat, exp } = payload as Record<string, unknown>
  if (!isHeaderSafe(sub)) throw invalidToken('claim_invalid', 'claim sub invalid')
  if (!isHeaderSafe(sid)) throw invalidToken('claim_invalid', 'claim sid invalid')
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw invalidToken('claim_invalid', 'claim jti invalid')
  }
  if (!isRoleList(roles)) throw invalidToken('claim_invalid', 'claim roles invalid')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidToken('claim_invalid', 'claim iat invalid')
  // jose only checks iat against maxTokenAge; a token from the future is refused here.
  if (iat > nowS + toleranceS) throw invalidToken('claim_invalid', 'claim iat is in the future')
  return { identity: { subject: sub, roles: [...roles], session: sid }, exp: exp as number }
}

export function createAuthenticator (opts: AuthenticatorOptions) {
  const verifyOptions = {
    algorithms: [ACCESS_TOKEN_ALG],
    issuer: opts.issuer,
    audience: typeof opts.audience === 'string' ? opts.audience : [...opts.audience],
    typ: ACCESS_TOKEN_TYP,
    requiredClaims: [...REQUIRED_CLAIMS],
    clockTolerance: opts.clockToleranceS,
  }
  const verify: VerifyToken = opts.verifyImplementation === 'jose'
    ? async (token) => await jwtVerify(token, opts.getKey, verifyOptions) as unknown as Verified
    : createFastVerifier({ ...opts, requiredClaims: REQUIRED_CLAIMS })
  const cache = opts.cache
  const provider = opts.providerId ?? 'local'
  const external = opts.external ?? new Map<string, ExternalProvider>()
  const isCurrentKey = opts.isCurrentKey
  const keyHeld = (entry: CachedToken) => isCurrentKey !== undefined && isCurrentKey(entry.key)

  async function verifyAndCache (found: Credential): Promise<Authenticated> {
    const { token, source } = found
    const header = precheckToken(token, opts.maxTokenBytes)
    let payload: JWTPayload
    let key: Verified['key']
    try {
      ({ payload, key } = await verify(token, header))
    } catch (err) {
      throw mapVerifyError(err)
    }
    const { identity, exp } = checkClaims(payload, Math.floor(Date.now() / 1000), opts.clockToleranceS)
    const iat = payload.iat as number
    const jkt = boundKey(payload)
    if (opts.isRevoked(identity.session, identity.subject, iat)) {
      throw invalidToken('revoked', 'token revoked')
    }
    cache?.set(token, { identity, iat, exp, key, jkt })
    const binding = bindingOf(found, jkt)
    const result = { identity, source, provider, exp, token }
    return binding === undefined ? result : { ...result, binding }
  }

  async function verifyExternal (found: Credential, by: ExternalProvider): Promise<Authenticated> {
    let verified
    try {
      verified = await by.verify(found.token)
    } catch (err) {
      throw mapVerifyError(err)
    }
    const { identity } = verified
    const binding = bindingOf(found, boundKey(verified.payload))
    const exp = verified.payload.exp as number
    const result = { identity, source: found.source, provider: by.id, exp, token: found.token }
    return binding === undefined ? result : { ...result, binding }
  }

  return function authenticate (input: AuthInput): AuthResult {
    const found = extractCredential(input.authorization, input.cookie, opts.maxTokenBytes)
    if (!found) return null
    // A hit still needs its key held (the same object: a refetch or prune makes it a miss) and no revocation.
    const hit = cache?.get(found.token, keyHeld)
    if (hit !== undefined) {
      if (opts.isRevoked(hit.session, hit.subject, hit.iat)) throw invalidToken('revoked', 'token revoked')
      const binding = bindingOf(found, hit.jkt)
      const result = { identity: hit as Identity, source: found.source, provider, exp: hit.exp, token: found.token }
      return binding === undefined ? result : { ...result, binding }
    }
    if (external.size > 0) {
      const iss = issuerOf(found.token)
      const by = iss === undefined ? undefined : external.get(iss)
      if (by !== undefined) return verifyExternal(found, by)
    }
    return verifyAndCache(found)
  }
}

export type Authenticate = ReturnType<typeof createAuthenticator>

function allowedOn (session: GatewaySession, result: Authenticated): void {
  if (!session.rule!.providers.includes(result.provider)) {
    throw invalidToken('provider_not_allowed', `tokens of ${result.provider} are not accepted on this route`)
  }
}

/** Without a DPoP check wired, a DPoP request or a bound token is never accepted. */
const refuseBound: DpopCheck = () => {
  throw invalidToken('claim_invalid', 'DPoP-bound tokens are not accepted here')
}

/**
 * Stage 5, with the authenticator of the session's configuration: `onVerified` counts each
 * accepted token (metrics); `checkDpop` (dpop.ts) runs on every bound one.
 */
export function authenticateStage (onVerified: () => void, checkDpop: DpopCheck = refuseBound): Stage {
  function accept (result: Authenticated | null, session: GatewaySession): void {
    if (!result) {
      if (session.rule!.auth === 'optional') return
      throw invalidToken('missing_token', 'access token required')
    }
    allowedOn(session, result)
    onVerified()
    session.identity = result.identity
    session.tokenExp = result.exp
    session.credentialSource = result.source
    session.token = result.token
    session.provider = result.provider
  }
  function acceptBound (result: Authenticated, request: FastifyRequest, session: GatewaySession): void | Promise<void> {
    allowedOn(session, result)
    const checked = checkDpop(request, session, result.binding!)
    if (checked instanceof Promise) return checked.then(() => accept(result, session))
    accept(result, session)
  }
  async function acceptVerified (
    pending: Promise<Authenticated>, request: FastifyRequest, session: GatewaySession
  ): Promise<void> {
    const result = await pending
    if (result.binding !== undefined) await acceptBound(result, request, session)
    else accept(result, session)
  }
  return (request, _reply, session) => {
    const rule = session.rule
    if (rule === undefined || rule.auth === 'none') return
    const { headers, rawHeaders } = request.raw
    const result = session.active.authenticate({
      // headersDistinct would copy every header of the request: read the copies from rawHeaders.
      authorization: headers.authorization === undefined ? undefined : authorizationHeaders(rawHeaders),
      cookie: headers.cookie,
    })
    if (result instanceof Promise) return acceptVerified(result, request, session)
    if (result?.binding !== undefined) return acceptBound(result, request, session)
    accept(result, session)
  }
}
