/**
 * Refresh-token families (= sessions) in Redis, and the revocation records gateways read.
 * `<prefix>rt:{<familyId>}`: the family hash (see rotate-script.ts);
 * `<prefix>user:{<userId>}:sessions`: the set of a user's family ids (an index, pruned lazily).
 */
import type { Result } from 'ioredis'
import { execOrThrow, type RedisClient } from '../redis.js'
import { REVOCATION, type RevocationMessage } from '../contract.js'
import { ROTATE_LUA } from './rotate-script.js'
import { hashRefreshToken, newFamilyId, newRefreshToken, successorOf } from './refresh-token.js'

/** Revocation records outlive the last access token by this much (covers gateway clock tolerance). */
export const REVOCATION_MARGIN_MS = 60_000

export interface FamiliesOptions {
  prefix: string
  refreshTokenSecret: string
  /** All in seconds. */
  refreshTokenTtl: number
  sessionMaxAge: number
  refreshReuseGrace: number
  accessTokenTtl: number
  /** Called after revocation records are written (metrics): kind and how many. */
  onRevocation?: (kind: 'session' | 'user', count: number) => void
}

export interface Session {
  id: string
  userId: string
  roles: string[]
  createdAt: number
  lastUsedAt: number
  ip: string
  userAgent: string
}

export type RotateResult =
  | { status: 'rotated', familyId: string, userId: string, roles: string[], refreshToken: string, generation: number }
  | { status: 'invalid' | 'expired' }
  | { status: 'reused', familyId: string, userId: string }

export interface ClientInfo { ip: string, userAgent: string }

type RotateReply = [string, string?, string?, string?]

/** KEYS[1] family; ARGV[1] roles JSON. Sets the roles only while the family exists (never recreates an expired one without its TTL). */
const SET_ROLES_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'roles', ARGV[1])
  return 1
end
return 0
`

declare module 'ioredis' {
  interface RedisCommander<Context> {
    authRotateRefresh: (key: string, presented: string, successor: string, now: number, grace: number,
      sliding: number, ip: string, ua: string) => Result<RotateReply, Context>
    authSetFamilyRoles: (key: string, roles: string) => Result<number, Context>
  }
}

export function createFamilies (redis: RedisClient, opts: FamiliesOptions) {
  const { prefix } = opts
  const familyKey = (id: string) => `${prefix}rt:{${id}}`
  const userSessionsKey = (userId: string) => `${prefix}user:{${userId}}:sessions`
  if (typeof redis.authRotateRefresh !== 'function') {
    redis.defineCommand('authRotateRefresh', { numberOfKeys: 1, lua: ROTATE_LUA })
  }
  if (typeof redis.authSetFamilyRoles !== 'function') {
    redis.defineCommand('authSetFamilyRoles', { numberOfKeys: 1, lua: SET_ROLES_LUA })
  }
  const revokedUntil = (now: number) => now + opts.accessTokenTtl * 1000 + REVOCATION_MARGIN_MS

  /** Records revoked sessions for gateways: sorted set (score = until) + one message each. One round trip. */
  async function recordSessionRevocations (sids: string[], now = Date.now()): Promise<void> {
    if (sids.length === 0) return
    const until = revokedUntil(now)
    const key = REVOCATION.sessionsKey(prefix)
    const p = redis.pipeline()
    p.zadd(key, ...sids.flatMap((sid) => [until, sid]))
    p.zremrangebyscore(key, '-inf', now)
    for (const sid of sids) {
      const message: RevocationMessage = { type: 'session', sid, until, at: now }
      p.publish(REVOCATION.channel(prefix), JSON.stringify(message))
    }
    await execOrThrow(p)
    opts.onRevocation?.('session', sids.length)
  }

  return {
    /** Starts a family (a login); returns its id and first refresh token. */
    async create (userId: string, roles: string[], client: ClientInfo): Promise<{ familyId: string, refreshToken: string }> {
      const familyId = newFamilyId()
      const refreshToken = newRefreshToken(familyId)
      const now = Date.now()
      const absExp = now + opts.sessionMaxAge * 1000
      const key = familyKey(familyId)
      // One MULTI for the family hash and its TTL (never a family without expiry); the
      // index lives in another slot, so it goes alongside.
      const family = redis.multi()
        .hset(key, {
          user: userId,
          roles: JSON.stringify(roles),
          gen: 0,
          rotatedAt: now,
          createdAt: now,
          lastUsedAt: now,
          absExp,
          ip: client.ip,
          ua: client.userAgent,
          [`t:${hashRefreshToken(refreshToken)}`]: 0,
        })
        .pexpire(key, Math.min(opts.refreshTokenTtl, opts.sessionMaxAge) * 1000)
      await Promise.all([execOrThrow(family), redis.sadd(userSessionsKey(userId), familyId)])
      return { familyId, refreshToken }
    },

    /** One refresh: exactly one Redis round trip, plus one more only on the reuse path. */
    async rotate (familyId: string, token: string, client: ClientInfo): Promise<RotateResult> {
      const successor = successorOf(token, opts.refreshTokenSecret)
      const now = Date.now()
      const [status, gen, userId, roles] = await redis.authRotateRefresh(
        familyKey(familyId), hashRefreshToken(token), hashRefreshToken(successor), now,
        opts.refreshReuseGrace * 1000, opts.refreshTokenTtl * 1000, client.ip, client.userAgent.slice(0, 512))
      if (status === 'rotated' || status === 'same') {
        return { status: 'rotated', familyId, userId: userId ?? '', roles: JSON.parse(roles ?? '[]'), refreshToken: successor, generation: Number(gen) }
      }
      if (status === 'reused') {
        await recordSessionRevocations([familyId], now)
        return { status: 'reused', familyId, userId: userId ?? '' }
      }
      return { status: status === 'expired' ? 'expired' : 'invalid' }
    },

    async get (familyId: string): Promise<Session | null> {
      const [user, roles, createdAt, lastUsedAt, ip, ua] = await redis.hmget(familyKey(familyId),
        'user', 'roles', 'createdAt', 'lastUsedAt', 'ip', 'ua')
      if (!user) return null
      return {
        id: familyId,
        userId: user,
        roles: JSON.parse(roles ?? '[]') as string[],
        createdAt: Number(createdAt),
        lastUsedAt: Number(lastUsedAt),
        ip: ip ?? '',
        userAgent: ua ?? '',
      }
    },

    /** The user whose live family `familyId` issued `token` (any generation), else null. One round trip. */
    async ownerOf (familyId: string, token: string): Promise<string | null> {
      const [user, generation] = await redis.hmget(familyKey(familyId), 'user', `t:${hashRefreshToken(token)}`)
      return user && generation !== null ? user : null
    },

    async exists (familyId: string): Promise<boolean> {
      return await redis.exists(familyKey(familyId)) === 1
    },

    /** The user's live sessions, oldest first; ids of expired families are pruned from the index. */
    async listForUser (userId: string): Promise<Session[]> {
      const ids = await redis.smembers(userSessionsKey(userId))
      const found = await Promise.all(ids.map(async (id) => [id, await this.get(id)] as const))
      const gone = found.filter(([, s]) => s === null).map(([id]) => id)
      if (gone.length > 0) await redis.srem(userSessionsKey(userId), ...gone)
      return found.flatMap(([, s]) => s && s.userId === userId ? [s] : []).sort((a, b) => a.createdAt - b.createdAt)
    },

    /**
     * Replaces the roles snapshot of the user's live sessions (their next refresh carries it).
     * Atomic per family, and only on families that still exist. Resolves with how many were updated.
     */
    async setRoles (userId: string, roles: string[]): Promise<number> {
      const ids = await redis.smembers(userSessionsKey(userId))
      const json = JSON.stringify(roles)
      const updated = await Promise.all(ids.map(async (id) => await redis.authSetFamilyRoles(familyKey(id), json)))
      return updated.filter((n) => n === 1).length
    },

    /** Ends one session: the family is deleted and its live access tokens recorded as revoked. */
    async revoke (familyId: string, userId: string): Promise<void> {
      await Promise.all([
        redis.del(familyKey(familyId)),
        redis.srem(userSessionsKey(userId), familyId),
        recordSessionRevocations([familyId]),
      ])
    },

    /** Ends every session of the user and records the user's not-before for gateways. */
    async revokeAll (userId: string): Promise<string[]> {
      const ids = await redis.smembers(userSessionsKey(userId))
      await Promise.all([...ids.map((id) => redis.del(familyKey(id))), redis.del(userSessionsKey(userId))])
      const now = Date.now()
      await recordSessionRevocations(ids, now)
      // Second granularity: `iat` is in seconds, and a login in the same second as the
      // logout-all must not be revoked (the revoked sessions are in the set anyway).
      const notBefore = Math.floor(now / 1000) * 1000
      const until = revokedUntil(now)
      const key = REVOCATION.usersKey(prefix)
      const message: RevocationMessage = { type: 'user', sub: userId, notBefore, until, at: now }
      await execOrThrow(redis.pipeline()
        .zadd(key, notBefore, userId)
        .zremrangebyscore(key, '-inf', now - opts.accessTokenTtl * 1000 - REVOCATION_MARGIN_MS)
        .publish(REVOCATION.channel(prefix), JSON.stringify(message)))
      opts.onRevocation?.('user', 1)
      return ids
    },
  }
}

export type Families = ReturnType<typeof createFamilies>
