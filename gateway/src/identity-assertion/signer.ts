/**
 * The identity assertion signer (gateway/src/contract.ts IDENTITY_ASSERTION): one ES256 JWT per
 * (route, verified identity), signed with node:crypto (synchronous: it runs inside the proxy's
 * rewriteRequestHeaders) and cached until it must be renewed, so a request usually costs a map
 * lookup.
 *
 * - `exp` = min(iat + ttl, the access token's exp): an assertion never outlives its token
 * - renewed once less than half of its life is left, so a service always gets one with at least
 *   half its TTL to go (unless the token itself ends sooner)
 * - the cache is keyed by route id, sub, sid, roles and the token's exp (a new token, new roles
 *   or another route: a new assertion), bounded (oldest out first), and emptied when the
 *   signing key changes, so after a rotation every new assertion carries the new kid
 */
import { randomUUID, sign } from 'node:crypto'
import { IDENTITY_ASSERTION, type Identity } from '../contract.js'
import type { GatewayKeySet } from './key-files.js'

export interface AssertionSignerOptions {
  issuer: string
  /** Seconds, at most IDENTITY_ASSERTION.maxTtlS. */
  ttlS: number
  /** Cached assertions at most (0: no cache, every request signs). */
  maxEntries: number
  keys: GatewayKeySet['active']
  now?: () => number
}

export interface AssertionSigner {
  /** The assertion for `audience` (the route id); `tokenExp` is the access token's exp (seconds). */
  assertionFor: (audience: string, identity: Identity, tokenExp: number) => string
  /** A new signing key: the cache is emptied. */
  setKey: (keys: GatewayKeySet['active']) => void
  kid: () => string
  size: () => number
  stats: () => { hits: number, signed: number }
}

interface CachedAssertion { token: string, renewAtMs: number }

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const EXPIRED_SWEEP_PER_SET = 8

export function createAssertionSigner (opts: AssertionSignerOptions): AssertionSigner {
  if (!(opts.ttlS >= 1 && opts.ttlS <= IDENTITY_ASSERTION.maxTtlS)) {
    throw new RangeError(`identity assertion ttl must be 1-${IDENTITY_ASSERTION.maxTtlS} s (got ${opts.ttlS})`)
  }
  const now = opts.now ?? Date.now
  const cache = new Map<string, CachedAssertion>()
  let key = opts.keys
  let header = b64({ alg: IDENTITY_ASSERTION.alg, kid: key.kid, typ: IDENTITY_ASSERTION.typ })
  let hits = 0
  let signed = 0

  function signNew (audience: string, identity: Identity, tokenExp: number, nowMs: number): CachedAssertion {
    const iat = Math.floor(nowMs / 1000)
    const exp = Math.min(iat + opts.ttlS, tokenExp)
    const payload = b64({
      iss: opts.issuer,
      aud: audience,
      sub: identity.subject,
      sid: identity.session,
      roles: identity.roles,
      iat,
      exp,
      jti: randomUUID(),
    })
    const input = `${header}.${payload}`
    const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    signed++
    // Half its life; one whose token ends within the second is never reused.
    const renewAtMs = exp > iat ? (iat * 1000 + exp * 1000) / 2 : 0
    return { token: `${input}.${signature.toString('base64url')}`, renewAtMs }
  }

  function dropExpired (nowMs: number): void {
    let n = 0
    for (const [k, entry] of cache) {
      if (n++ >= EXPIRED_SWEEP_PER_SET || entry.renewAtMs > nowMs) break
      cache.delete(k)
    }
  }

  return {
    assertionFor (audience, identity, tokenExp) {
      const nowMs = now()
      if (opts.maxEntries <= 0) return signNew(audience, identity, tokenExp, nowMs).token
      const k = `${audience}\n${identity.subject}\n${identity.session}\n${identity.roles.join(',')}\n${tokenExp}`
      const hit = cache.get(k)
      if (hit !== undefined && hit.renewAtMs > nowMs) { hits++; return hit.token }
      const fresh = signNew(audience, identity, tokenExp, nowMs)
      cache.delete(k)
      dropExpired(nowMs)
      while (cache.size >= opts.maxEntries) cache.delete(cache.keys().next().value as string)
      if (fresh.renewAtMs > nowMs) cache.set(k, fresh)
      return fresh.token
    },
    setKey (next) {
      if (next.kid === key.kid) { key = next; return }
      key = next
      header = b64({ alg: IDENTITY_ASSERTION.alg, kid: key.kid, typ: IDENTITY_ASSERTION.typ })
      cache.clear()
    },
    kid: () => key.kid,
    size: () => cache.size,
    stats: () => ({ hits, signed }),
  }
}
