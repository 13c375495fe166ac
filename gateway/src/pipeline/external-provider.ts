/**
 * Pipeline stage 5, for a token of another issuer than the local auth service (a provider of
 * the gateway file without `revocation`: Keycloak, Auth0, a partner's IdP).
 *
 * - picked by the token's `iss` (`issuerOf`, the payload decoded before any signature work)
 * - verified with jose against the provider's key store (its JWKS by URL or discovery): its
 *   algorithms (RS256, ES256), issuer, audiences, clock tolerance; `iss`, `aud`, `sub`, `exp`
 *   required. The local rules (typ at+jwt, sid, jti, revocation) are the local provider's only
 * - the identity from the provider's claim paths: the subject (a header-safe string), the roles
 *   (an array of strings or one space-separated string; absent: none); the session is `sid`
 *   when the token has a header-safe one, else empty
 */
import { jwtVerify, type JWTPayload } from 'jose'
import type { Identity } from '../contract.js'
import type { ProviderSpec } from '../gateway-file/index.js'
import type { KeyStore } from '../keys/key-store.js'
import { invalidToken } from '../errors.js'
import { isHeaderSafe, isRoleList } from './identity-claims.js'

/** The `iss` of a compact JWS's payload, unverified; undefined when it has none or is not one. */
export function issuerOf (token: string): string | undefined {
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  if (first < 0 || second < 0) return undefined
  try {
    const payload = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')) as unknown
    const iss = (payload as { iss?: unknown } | null)?.iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/** The value at a dot path (`realm_access.roles`); a key with a dot in it is tried whole first. */
export function claimAt (payload: Readonly<Record<string, unknown>>, path: string): unknown {
  if (path in payload) return payload[path]
  let value: unknown = payload
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/** Roles from an array of strings or a space-separated string; absent: none. Anything else throws. */
export function rolesFrom (value: unknown): string[] {
  if (value === undefined || value === null) return []
  const list = typeof value === 'string' ? value.split(' ').filter((r) => r !== '') : value
  if (!isRoleList(list)) throw invalidToken('claim_invalid', 'claim roles invalid')
  return [...new Set(list)]
}

export interface ExternalVerified { identity: Identity, payload: JWTPayload }

export interface ExternalProvider {
  readonly id: string
  readonly issuer: string
  verify: (token: string) => Promise<ExternalVerified>
}

export function createExternalProvider (spec: ProviderSpec, keys: KeyStore, clockToleranceS: number): ExternalProvider {
  const options = {
    algorithms: [...spec.algorithms],
    issuer: spec.issuer,
    audience: [...spec.audience],
    clockTolerance: spec.clockToleranceS ?? clockToleranceS,
    requiredClaims: ['iss', 'aud', 'sub', 'exp'],
  }
  return {
    id: spec.id,
    issuer: spec.issuer,
    async verify (token) {
      const { payload } = await jwtVerify(token, keys.getKey, options)
      const subject = claimAt(payload, spec.subjectClaim)
      if (!isHeaderSafe(subject)) {
        throw invalidToken('claim_invalid', `claim ${spec.subjectClaim} invalid`)
      }
      const sid = payload.sid
      const session = isHeaderSafe(sid) ? sid : ''
      return { identity: { subject, roles: rolesFrom(claimAt(payload, spec.rolesClaim)), session }, payload }
    },
  }
}
