/**
 * Refresh-token families (= sessions) in Redis: the store only; revocations.ts tells gateways.
 * - `<prefix>rt:{<familyId>}`: the family hash, `FAMILY_FIELDS` plus `t:<sha256(token)>` → the
 *   generation of every token it issued (so a guessed secret is told from a reused one).
 * - `<prefix>user:{<userId>}:sessions`: the set of a user's family ids (an index, pruned lazily).
 * - `<prefix>rt:{<familyId>}:disabled` → user id: a family removed because its account was
 *   disabled, kept as long as its refresh token could have lived, so a refresh says why.
 * - Rotation is one Lua script (lua/rotate.ts); `now` is injectable so tests drive the clock.
 * - A family started with a DPoP proof keeps its key's thumbprint in `jkt` for life (DPOP_FIELD).
 */
import { execOrThrow, type RedisClient } from '../redis.js'
import { defineRotate, rotateFamily } from './lua/rotate.js'
import { defineSetRoles, setFamilyRoles } from './lua/set-roles.js'
import { hashRefreshToken, newFamilyId, newRefreshToken } from './refresh-token.js'

/** The family hash's fields besides the `t:<hash>` ones; the Lua scripts read the same names. */
export const FAMILY_FIELDS = [
  'user', 'roles', 'gen', 'rotatedAt', 'lastUsedAt', 'createdAt', 'absExp', 'ip', 'ua',
] as const
export type FamilyField = typeof FAMILY_FIELDS[number]
/** Only on families bound to a DPoP key: the key's RFC 7638 thumbprint (lua/rotate.ts reads it). */
export const DPOP_FIELD = 'jkt'

export const tokenField = (token: string) => `t:${hashRefreshToken(token)}`

export interface FamiliesOptions {
  prefix: string
  /** All in seconds. */
  refreshTokenTtl: number
  sessionMaxAge: number
  refreshReuseGrace: number
  /** ms epoch; default Date.now. */
  now?: () => number
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
  | {
    status: 'rotated',
    familyId: string,
    userId: string,
    roles: string[],
    refreshToken: string,
    generation: number
    jkt?: string
  }
  | { status: 'invalid' | 'expired' | 'key_mismatch' }
  | { status: 'reused', familyId: string, userId: string }

export interface ClientInfo { ip: string, userAgent: string }

export function createFamilies (redis: RedisClient, opts: FamiliesOptions) {
  const { prefix } = opts
  const now = opts.now ?? Date.now
  const familyKey = (id: string) => `${prefix}rt:{${id}}`
  const userSessionsKey = (userId: string) => `${prefix}user:{${userId}}:sessions`
  const disabledKey = (id: string) => `${prefix}rt:{${id}}:disabled`
  const refreshLifetimeMs = Math.min(opts.refreshTokenTtl, opts.sessionMaxAge) * 1000
  defineRotate(redis)
  defineSetRoles(redis)

  async function get (familyId: string): Promise<Session | null> {
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
  }

  return {
    get,

    /** Starts a family (a login), bound to `jkt` when given; returns its id and first refresh token. */
    async create (userId: string, roles: string[], client: ClientInfo, jkt?: string) {
      const familyId = newFamilyId()
      const refreshToken = newRefreshToken(familyId)
      const at = now()
      const key = familyKey(familyId)
      const fields: Record<FamilyField, string | number> = {
        user: userId,
        roles: JSON.stringify(roles),
        gen: 0,
        rotatedAt: at,
        lastUsedAt: at,
        createdAt: at,
        absExp: at + opts.sessionMaxAge * 1000,
        ip: client.ip,
        ua: client.userAgent,
      }
      // One MULTI for the family hash and its TTL (never a family without expiry); the
      // index lives in another slot, so it goes alongside.
      const family = redis.multi()
        .hset(key, { ...fields, ...(jkt === undefined ? {} : { [DPOP_FIELD]: jkt }), [tokenField(refreshToken)]: 0 })
        .pexpire(key, refreshLifetimeMs)
      await Promise.all([execOrThrow(family), redis.sadd(userSessionsKey(userId), familyId)])
      return { familyId, refreshToken }
    },

    /**
     * One refresh, exactly one Redis round trip; `successor` is the token to issue (successorOf),
     * `jkt` the thumbprint of the request's DPoP proof (a bound family needs the same one).
     */
    async rotate (
      familyId: string, token: string, successor: string, client: ClientInfo, jkt?: string
    ): Promise<RotateResult> {
      const [status, currentGen, userId, roles, boundJkt] = await rotateFamily(redis, familyKey(familyId), {
        presentedHash: hashRefreshToken(token),
        successorHash: hashRefreshToken(successor),
        now: now(),
        graceMs: opts.refreshReuseGrace * 1000,
        slidingTtlMs: opts.refreshTokenTtl * 1000,
        ip: client.ip,
        userAgent: client.userAgent.slice(0, 512),
        jkt: jkt ?? '',
      })
      if (status === 'rotated' || status === 'same') {
        const parsedRoles = JSON.parse(roles ?? '[]') as string[]
        const generation = Number(currentGen)
        const rotated = { familyId, userId: userId ?? '', roles: parsedRoles, refreshToken: successor, generation }
        return { status: 'rotated', ...rotated, ...(boundJkt ? { jkt: boundJkt } : {}) }
      }
      if (status === 'reused') return { status: 'reused', familyId, userId: userId ?? '' }
      if (status === 'key_mismatch') return { status }
      return { status: status === 'expired' ? 'expired' : 'invalid' }
    },

    /** The user whose live family `familyId` issued `token` (any generation), else null. One round trip. */
    async ownerOf (familyId: string, token: string): Promise<string | null> {
      const [user, generation] = await redis.hmget(familyKey(familyId), 'user', tokenField(token))
      return user && generation !== null ? user : null
    },

    async exists (familyId: string): Promise<boolean> {
      return await redis.exists(familyKey(familyId)) === 1
    },

    /** The user's live sessions, oldest first; ids of expired families are pruned from the index. */
    async listForUser (userId: string): Promise<Session[]> {
      const ids = await redis.smembers(userSessionsKey(userId))
      const found = await Promise.all(ids.map(async (id) => [id, await get(id)] as const))
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
      const updated = await Promise.all(ids.map(async (id) => await setFamilyRoles(redis, familyKey(id), roles)))
      return updated.filter(Boolean).length
    },

    /** Deletes one family and its index entry (revocations.ts tells the gateways). */
    async remove (familyId: string, userId: string): Promise<void> {
      await Promise.all([redis.del(familyKey(familyId)), redis.srem(userSessionsKey(userId), familyId)])
    },

    /** Deletes every family of the user; resolves with their ids. */
    async removeAll (userId: string): Promise<string[]> {
      const ids = await redis.smembers(userSessionsKey(userId))
      await Promise.all([...ids.map((id) => redis.del(familyKey(id))), redis.del(userSessionsKey(userId))])
      return ids
    },

    /** Records the (removed) families `ids` as ended by disabling `userId` (disabledOwnerOf finds them). */
    async markDisabled (ids: readonly string[], userId: string): Promise<void> {
      // One command per family: their keys live in different cluster slots.
      await Promise.all(ids.map(async (id) => await redis.set(disabledKey(id), userId, 'PX', refreshLifetimeMs)))
    },

    /** The user whose disabling removed family `familyId` (markDisabled), else null. */
    async disabledOwnerOf (familyId: string): Promise<string | null> {
      return await redis.get(disabledKey(familyId))
    },

    /** The store's clock (ms epoch), for records that must agree with it. */
    now,
  }
}

export type Families = ReturnType<typeof createFamilies>
