/**
 * The one Lua script of a refresh: rotation, grace and reuse detection in a single
 * Redis round trip. It touches only the family hash (one hash tag: `{<familyId>}`).
 *
 * Family hash fields: user, roles, gen, rotatedAt, lastUsedAt, absExp, ip, ua,
 * createdAt, and `t:<sha256 of token>` → the generation that token belongs to
 * (every token the family ever issued, so a guessed secret is told from a reused one).
 *
 * KEYS[1] family; ARGV: presentedHash, successorHash, nowMs, graceMs, slidingTtlMs, ip, ua
 * Returns { status, generation, user, roles } with status one of
 * rotated | same (within grace: the successor already issued) | invalid | reused | expired.
 */
export const ROTATE_LUA = `
local fam = KEYS[1]
local presented, successor = ARGV[1], ARGV[2]
local now, grace, sliding = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local g = redis.call('HGET', fam, 't:' .. presented)
if not g then return {'invalid'} end
g = tonumber(g)
local f = redis.call('HMGET', fam, 'gen', 'rotatedAt', 'absExp', 'user', 'roles')
local gen, rotatedAt, absExp = tonumber(f[1]), tonumber(f[2]), tonumber(f[3])
local user, roles = f[4], f[5]
if now >= absExp then
  redis.call('DEL', fam)
  return {'expired'}
end
if g == gen then
  redis.call('HSET', fam, 't:' .. successor, gen + 1, 'gen', gen + 1, 'rotatedAt', now,
    'lastUsedAt', now, 'ip', ARGV[6], 'ua', ARGV[7])
  redis.call('PEXPIRE', fam, math.min(sliding, absExp - now))
  return {'rotated', tostring(gen + 1), user, roles}
end
if g == gen - 1 and now - rotatedAt <= grace and redis.call('HGET', fam, 't:' .. successor) == tostring(gen) then
  return {'same', tostring(gen), user, roles}
end
redis.call('DEL', fam)
return {'reused', tostring(gen), user, roles}
`
