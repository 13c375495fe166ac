/**
 * Pipeline stage 5b, verified-token cache: a token that passed full verification is remembered
 * by the SHA-256 of its text (never the token itself), with only what the next request needs.
 *
 * - one frozen object per entry that is itself the request's identity: the identity, iat/exp
 *   and the key object that verified it (~270 bytes; role lists are shared)
 * - bounded in entries (TOKEN_CACHE_MAX, oldest out first) and in time: an entry lives until
 *   min(exp, now + TOKEN_CACHE_TTL)
 * - NOT decided here (authenticate.ts checks on every hit): revocation, and whether the key is
 *   still held (the caller's `usable`: a JWKS refetch makes new key objects, a prune removes one;
 *   either is a miss, and the entry goes), and the DPoP proof of a bound token (its `jkt` is
 *   kept here; pipeline/dpop.ts demands a fresh proof on every request, hit or miss)
 */
import { hash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { CryptoKey } from 'jose'
import type { GatewayConfig } from '../config.js'
import type { Identity } from '../contract.js'

export interface CachedToken extends Readonly<Identity> {
  readonly iat: number
  readonly exp: number
  readonly key: CryptoKey
  /** cnf.jkt of a DPoP-bound token; undefined: a Bearer token. */
  readonly jkt: string | undefined
  /** ms epoch after which the entry is ignored and dropped. */
  readonly expiresAt: number
}

export interface VerifiedToken { identity: Identity, iat: number, exp: number, key: CryptoKey, jkt?: string }

export interface TokenCache {
  /** The entry, if there is one and `usable(entry)` says yes (else it is dropped): a hit means no verification. */
  get: (token: string, usable?: (entry: CachedToken) => boolean) => CachedToken | undefined
  set: (token: string, verified: VerifiedToken) => void
  delete: (token: string) => void
  clear: () => void
  size: () => number
  /** Drops expired entries from the oldest end; returns how many went (a timer calls it when idle). */
  sweep: () => number
  /** Hits and misses since creation (metrics, bench). */
  stats: () => { hits: number, misses: number }
}

export interface TokenCacheOptions {
  maxEntries: number
  ttlMs: number
  now?: () => number
}

/** The 32 digest bytes as a one-byte string: 32 characters per key whatever the token's size. */
export function tokenKey (token: string): string {
  return hash('sha256', token, 'binary')
}

/** Expired entries dropped per insert at most: the cost of a miss stays bounded. */
const SWEEP_PER_SET = 8

/** Distinct role lists kept for sharing; past this many, lists are kept per entry. */
const MAX_SHARED_ROLE_LISTS = 1024

export function createTokenCache (opts: TokenCacheOptions): TokenCache {
  const now = opts.now ?? Date.now
  // A Map iterates in insertion order: the first key is the oldest entry.
  const entries = new Map<string, CachedToken>()
  const roleLists = new Map<string, readonly string[]>()
  let hits = 0
  let misses = 0

  function sharedRoles (roles: readonly string[]): readonly string[] {
    const id = roles.join(',') // no role contains ',' (checkClaims)
    const shared = roleLists.get(id)
    if (shared) return shared
    const frozen = Object.freeze([...roles])
    if (roleLists.size < MAX_SHARED_ROLE_LISTS) roleLists.set(id, frozen)
    return frozen
  }

  // Entries expire at min(exp, set time + ttl), so in insertion order an expired entry is at
  // most ttl behind the oldest live one: sweeping from the front frees memory as it goes.
  function sweep (limit: number): number {
    const t = now()
    let removed = 0
    for (const [k, entry] of entries) {
      if (removed >= limit || entry.expiresAt > t) break
      entries.delete(k)
      removed++
    }
    return removed
  }

  return {
    get (token, usable) {
      const k = tokenKey(token)
      const entry = entries.get(k)
      if (entry === undefined) { misses++; return undefined }
      if (entry.expiresAt <= now() || (usable !== undefined && !usable(entry))) {
        entries.delete(k)
        misses++
        return undefined
      }
      hits++
      return entry
    },
    set (token, verified) {
      const expiresAt = Math.min(verified.exp * 1000, now() + opts.ttlMs)
      if (opts.maxEntries <= 0 || expiresAt <= now()) return
      const k = tokenKey(token)
      entries.delete(k)
      sweep(SWEEP_PER_SET)
      while (entries.size >= opts.maxEntries) {
        const oldest = entries.keys().next().value as string
        entries.delete(oldest)
      }
      const { subject, roles, session } = verified.identity
      const { iat, exp, key, jkt } = verified
      const shared = sharedRoles(roles) as string[]
      entries.set(k, Object.freeze({ subject, roles: shared, session, iat, exp, key, jkt, expiresAt }))
    },
    delete (token) { entries.delete(tokenKey(token)) },
    clear () { entries.clear() },
    size: () => entries.size,
    sweep: () => sweep(Infinity),
    stats: () => ({ hits, misses }),
  }
}

/** The cache TOKEN_CACHE_MAX / TOKEN_CACHE_TTL ask for; none when either is 0. */
type CacheConfig = Pick<GatewayConfig, 'tokenCacheMax' | 'tokenCacheTtlMs'>

export function tokenCacheFor (config: CacheConfig): TokenCache | undefined {
  if (config.tokenCacheMax <= 0 || config.tokenCacheTtlMs <= 0) return undefined
  return createTokenCache({ maxEntries: config.tokenCacheMax, ttlMs: config.tokenCacheTtlMs })
}

/** How often an idle gateway frees expired entries (inserts sweep as they go). */
export const SWEEP_INTERVAL_MS = 10_000

/** Sweeps the cache every SWEEP_INTERVAL_MS while the app is open; the timer never holds the process. */
export function sweepWhileOpen (app: FastifyInstance, cache: TokenCache): void {
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', (done) => {
    timer = setInterval(() => cache.sweep(), SWEEP_INTERVAL_MS).unref()
    done()
  })
  app.addHook('onClose', (_app, done) => { clearInterval(timer); done() })
}
