/**
 * The revocation records gateways read (`REVOCATION` in ../contract.ts), written when sessions end.
 * - Sessions: a sorted set (member sid, score = until) plus one message each, in one round trip.
 * - Users (logout-all): a "not before" per user plus one message.
 * - Records outlive the last access token they cover by REVOCATION_MARGIN_MS, then are trimmed.
 */
import { execOrThrow, type RedisClient } from '../redis.js'
import { REVOCATION, type RevocationMessage } from '../contract.js'

/** Revocation records outlive the last access token by this much (covers gateway clock tolerance). */
export const REVOCATION_MARGIN_MS = 60_000

export interface RevocationsOptions {
  prefix: string
  /** Seconds: how long an access token minted just now may live. */
  accessTokenTtl: number
  /** Called after records are written (metrics): kind and how many. */
  onRevocation?: (kind: 'session' | 'user', count: number) => void
}

export interface Revocations {
  /** Records the sessions `sids` as revoked at `now` (ms epoch). */
  sessions: (sids: readonly string[], now: number) => Promise<void>
  /** Records that no access token of `userId` issued before `now` is valid. */
  user: (userId: string, now: number) => Promise<void>
}

export function createRevocations (redis: RedisClient, opts: RevocationsOptions): Revocations {
  const { prefix } = opts
  const lifetimeMs = opts.accessTokenTtl * 1000 + REVOCATION_MARGIN_MS
  const channel = REVOCATION.channel(prefix)
  return {
    async sessions (sids, now) {
      if (sids.length === 0) return
      const until = now + lifetimeMs
      const key = REVOCATION.sessionsKey(prefix)
      const p = redis.pipeline()
      p.zadd(key, ...sids.flatMap((sid) => [until, sid]))
      p.zremrangebyscore(key, '-inf', now)
      for (const sid of sids) {
        const message: RevocationMessage = { type: 'session', sid, until, at: now }
        p.publish(channel, JSON.stringify(message))
      }
      await execOrThrow(p)
      opts.onRevocation?.('session', sids.length)
    },

    async user (userId, now) {
      // Second granularity: `iat` is in seconds, and a login in the same second as the
      // logout-all must not be revoked (the revoked sessions are in the set anyway).
      const notBefore = Math.floor(now / 1000) * 1000
      const key = REVOCATION.usersKey(prefix)
      const message: RevocationMessage = { type: 'user', sub: userId, notBefore, until: now + lifetimeMs, at: now }
      await execOrThrow(redis.pipeline()
        .zadd(key, notBefore, userId)
        .zremrangebyscore(key, '-inf', now - lifetimeMs)
        .publish(channel, JSON.stringify(message)))
      opts.onRevocation?.('user', 1)
    },
  }
}
