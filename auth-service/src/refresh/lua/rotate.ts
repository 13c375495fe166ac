/**
 * The one Lua script of a refresh: rotation, grace and reuse detection in one round trip.
 * - It touches only the family hash (`FAMILY_FIELDS` in ../families.ts, one hash tag `{<familyId>}`).
 * - KEYS[1] family; ARGV: presentedHash, successorHash, nowMs, graceMs, slidingTtlMs, ip, ua, jkt.
 * - Replies `[status, generation, user, roles, jkt]`, status one of rotated | same (within the grace:
 *   the successor already issued) | invalid | reused | expired | key_mismatch (the family is bound
 *   to a DPoP key and ARGV[8] is not its thumbprint: nothing is changed, not even a reuse verdict).
 */
import type { Result } from 'ioredis'
import type { RedisClient } from '../../redis.js'

export type RotateStatus = 'rotated' | 'same' | 'invalid' | 'reused' | 'expired' | 'key_mismatch'
export type RotateReply = [RotateStatus, string?, string?, string?, string?]

// `presentedGen` is the generation of the token presented, `currentGen` the family's newest.
export const ROTATE_LUA = `
local fam = KEYS[1]
local presented, successor = ARGV[1], ARGV[2]
local now, grace, sliding = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local presentedGen = redis.call('HGET', fam, 't:' .. presented)
if not presentedGen then return {'invalid'} end
presentedGen = tonumber(presentedGen)
local f = redis.call('HMGET', fam, 'gen', 'rotatedAt', 'absExp', 'user', 'roles', 'jkt')
local currentGen, rotatedAt, absExp = tonumber(f[1]), tonumber(f[2]), tonumber(f[3])
local user, roles, jkt = f[4], f[5], f[6]
if jkt and jkt ~= ARGV[8] then return {'key_mismatch'} end
if not jkt then jkt = '' end
if now >= absExp then
  redis.call('DEL', fam)
  return {'expired'}
end
if presentedGen == currentGen then
  redis.call('HSET', fam, 't:' .. successor, currentGen + 1, 'gen', currentGen + 1, 'rotatedAt', now,
    'lastUsedAt', now, 'ip', ARGV[6], 'ua', ARGV[7])
  redis.call('PEXPIRE', fam, math.min(sliding, absExp - now))
  return {'rotated', tostring(currentGen + 1), user, roles, jkt}
end
if presentedGen == currentGen - 1 and now - rotatedAt <= grace
  and redis.call('HGET', fam, 't:' .. successor) == tostring(currentGen) then
  return {'same', tostring(currentGen), user, roles, jkt}
end
redis.call('DEL', fam)
return {'reused', tostring(currentGen), user, roles}
`

export interface RotateArgs {
  presentedHash: string
  successorHash: string
  now: number
  graceMs: number
  slidingTtlMs: number
  ip: string
  userAgent: string
  /** The request's DPoP proof thumbprint, '' when none. */
  jkt: string
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    authRotateRefresh: (key: string, presented: string, successor: string, now: number, grace: number,
      sliding: number, ip: string, ua: string, jkt: string) => Result<RotateReply, Context>
  }
}

/** Registers the script once per client (EVALSHA, falling back to EVAL after a restart). */
export function defineRotate (redis: RedisClient): void {
  if (typeof redis.authRotateRefresh !== 'function') {
    redis.defineCommand('authRotateRefresh', { numberOfKeys: 1, lua: ROTATE_LUA })
  }
}

export async function rotateFamily (redis: RedisClient, key: string, a: RotateArgs): Promise<RotateReply> {
  return await redis.authRotateRefresh(key, a.presentedHash, a.successorHash, a.now, a.graceMs, a.slidingTtlMs,
    a.ip, a.userAgent, a.jkt)
}
