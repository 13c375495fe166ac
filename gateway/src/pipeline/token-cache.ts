/**
 * Pipeline stage 2b, verified-token cache: a token that passed full verification is
 * remembered by the SHA-256 of its text (never the token itself) with only what the next
 * request needs: the identity, iat/exp, the kid and the key object that verified it.
 * Bounded in entries (TOKEN_CACHE_MAX, oldest out first) and in time: an entry lives until
 * min(exp, now + TOKEN_CACHE_TTL). What the cache does NOT decide (authenticate.ts does it
 * on every hit): revocation, and whether the key is still held (the key store is asked for
 * the kid again, and a different key object, e.g. after a JWKS refetch or prune, is a miss).
 */
import { hash } from 'node:crypto'
import type { CryptoKey } from 'jose'
import type { Identity } from '../contract.js'

export interface CachedToken {
  /** Frozen: shared by every request that presents the token. */
  identity: Readonly<Identity>
  iat: number
  exp: number
  kid: string
  key: CryptoKey
  /** ms epoch after which the entry is ignored and dropped. */
  expiresAt: number
}

export interface TokenCache {
  get: (token: string) => CachedToken | undefined
  set: (token: string, entry: Omit<CachedToken, 'expiresAt'>) => void
  delete: (token: string) => void
  clear: () => void
  size: () => number
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

export function createTokenCache (opts: TokenCacheOptions): TokenCache {
  const now = opts.now ?? Date.now
  // A Map iterates in insertion order: the first key is the oldest entry.
  const entries = new Map<string, CachedToken>()
  let hits = 0
  let misses = 0

  return {
    get (token) {
      const k = tokenKey(token)
      const entry = entries.get(k)
      if (entry === undefined) { misses++; return undefined }
      if (entry.expiresAt <= now()) {
        entries.delete(k)
        misses++
        return undefined
      }
      hits++
      return entry
    },
    set (token, value) {
      const expiresAt = Math.min(value.exp * 1000, now() + opts.ttlMs)
      if (opts.maxEntries <= 0 || expiresAt <= now()) return
      const k = tokenKey(token)
      entries.delete(k)
      while (entries.size >= opts.maxEntries) {
        const oldest = entries.keys().next().value as string
        entries.delete(oldest)
      }
      // The caller's fresh objects are kept as they are (no copies: ~400 bytes an entry), frozen.
      Object.freeze(value.identity.roles)
      const entry = value as CachedToken
      entry.identity = Object.freeze(value.identity)
      entry.expiresAt = expiresAt
      entries.set(k, entry)
    },
    delete (token) { entries.delete(tokenKey(token)) },
    clear () { entries.clear() },
    size: () => entries.size,
    stats: () => ({ hits, misses }),
  }
}
