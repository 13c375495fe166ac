/**
 * Replaces a family's roles snapshot atomically, and only while the family exists.
 * - KEYS[1] family; ARGV[1] roles JSON. Replies 1 when updated, 0 when the family is gone.
 * - A plain HSET would recreate an expired family without its TTL: a session that never ends.
 */
import type { Result } from 'ioredis'
import type { RedisClient } from '../../redis.js'

export const SET_ROLES_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'roles', ARGV[1])
  return 1
end
return 0
`

declare module 'ioredis' {
  interface RedisCommander<Context> {
    authSetFamilyRoles: (key: string, roles: string) => Result<number, Context>
  }
}

export function defineSetRoles (redis: RedisClient): void {
  if (typeof redis.authSetFamilyRoles !== 'function') {
    redis.defineCommand('authSetFamilyRoles', { numberOfKeys: 1, lua: SET_ROLES_LUA })
  }
}

/** Resolves true when the family existed and now carries `roles`. */
export async function setFamilyRoles (redis: RedisClient, key: string, roles: readonly string[]): Promise<boolean> {
  return await redis.authSetFamilyRoles(key, JSON.stringify(roles)) === 1
}
