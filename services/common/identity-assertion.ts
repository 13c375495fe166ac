/**
 * The service side of the identity assertion (gateway/src/contract.ts IDENTITY_ASSERTION): a
 * request proves it came through the gateway with `x-identity-token`, a JWT signed by the
 * gateway for this service's route. A small pattern any Node service can copy (README "Verifying
 * the gateway's identity assertion"): jose's createRemoteJWKSet (cached, one refetch on an
 * unknown kid, with a cooldown) and jwtVerify.
 *
 * - IDENTITY_ASSERTION=off: the identity headers are trusted as before (identity.ts)
 * - optional: an assertion, when sent, must verify; without one the headers are trusted
 * - required: no assertion, or one that is forged, expired, for another route (`aud`) or not
 *   from the gateway (`iss`) is 401 `invalid_identity_assertion`; identity headers sent
 *   alongside must agree with it
 * - an assertion stays valid until its `exp` (at most 60 s) by design: replay within that time
 *   reaches only the route it was signed for
 */
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { IDENTITY_ASSERTION, type Identity } from '../../gateway/src/contract.js'
import { AssertionKeysUnavailableError, InvalidIdentityAssertionError } from './errors.js'

export const IDENTITY_ASSERTION_MODES = ['off', 'optional', 'required'] as const
export type IdentityAssertionMode = typeof IDENTITY_ASSERTION_MODES[number]

export interface IdentityAssertionSettings {
  mode: IdentityAssertionMode
  /** GATEWAY_JWKS_URL: the gateway's GET /.well-known/gateway-jwks.json. */
  jwksUrl: string
  /** GATEWAY_ISSUER. */
  issuer: string
  /** This service's route id in the gateway file (`aud`). */
  audience: string
  /** Seconds of clock skew accepted on exp / iat. */
  clockToleranceS: number
}

export const DEFAULT_GATEWAY_JWKS_URL = `http://127.0.0.1:8080${IDENTITY_ASSERTION.jwksPath}`
export const DEFAULT_ASSERTION_CLOCK_TOLERANCE_S = 5

const HEADER_SAFE = /^[\x21-\x7e]{1,256}$/

export type AssertionVerifier = (token: string) => Promise<Identity>

export function createAssertionVerifier (settings: IdentityAssertionSettings,
  keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: 30_000 })
): AssertionVerifier {
  const options = {
    issuer: settings.issuer,
    audience: settings.audience,
    algorithms: [IDENTITY_ASSERTION.alg],
    typ: IDENTITY_ASSERTION.typ,
    requiredClaims: ['sub', 'sid', 'roles', 'iat', 'exp', 'jti'],
    clockTolerance: settings.clockToleranceS,
    maxTokenAge: IDENTITY_ASSERTION.maxTtlS + settings.clockToleranceS,
  }
  return async function verifyAssertion (token) {
    let payload
    try {
      ({ payload } = await jwtVerify(token, keys, options))
    } catch (err) {
      if (keysUnavailable(err)) throw new AssertionKeysUnavailableError({ cause: err })
      throw new InvalidIdentityAssertionError(reason(err), { cause: err })
    }
    const { sub, sid, roles, iat, exp } = payload as Record<string, unknown>
    if (typeof sub !== 'string' || !HEADER_SAFE.test(sub) || typeof sid !== 'string' ||
      !Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
      throw new InvalidIdentityAssertionError('claims sub, sid or roles malformed')
    }
    if ((exp as number) - (iat as number) > IDENTITY_ASSERTION.maxTtlS) {
      throw new InvalidIdentityAssertionError(`lives longer than ${IDENTITY_ASSERTION.maxTtlS} s`)
    }
    return { subject: sub, session: sid, roles: roles as string[] }
  }
}

/** The JWKS fetch failed (timeout, non-200, network): not the caller's fault. */
function keysUnavailable (err: unknown): boolean {
  const code = (err as { code?: string })?.code
  return code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JOSE_GENERIC' || err instanceof TypeError
}

/** A short reason for the 401's message (jose's own messages can echo claim values). */
function reason (err: unknown): string {
  const { code, claim } = err as { code?: string, claim?: string }
  switch (code) {
    case 'ERR_JWT_EXPIRED': return 'expired'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': return `claim ${claim ?? ''} invalid`.replace('  ', ' ')
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'signature invalid'
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'no gateway key matches its kid'
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return 'alg not allowed'
    case 'ERR_JWKS_TIMEOUT': return 'gateway keys unavailable'
    default: return 'malformed'
  }
}

/** Do the identity headers (when sent) say the same as the assertion? */
export function headersAgree (fromHeaders: Identity | null, fromAssertion: Identity): boolean {
  if (fromHeaders === null) return true
  return fromHeaders.subject === fromAssertion.subject &&
    fromHeaders.session === fromAssertion.session &&
    fromHeaders.roles.join(',') === fromAssertion.roles.join(',')
}
