/**
 * The refresh Lua scripts on crafted family hashes in real Redis, one case per branch, and the
 * families store on an injected clock (the `expired` branch is unreachable in real time: the
 * key's PEXPIRE ends at absExp first).
 */
import t from 'tap'
import { createFamilies } from '../../src/refresh/families.js'
import { defineRotate, rotateFamily, type RotateReply } from '../../src/refresh/lua/rotate.js'
import { defineSetRoles, setFamilyRoles } from '../../src/refresh/lua/set-roles.js'
import { successorOf } from '../../src/refresh/refresh-token.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'

const T0 = 1_700_000_000_000
const HOUR = 3_600_000
const ROLES = '["user"]'

/** A family at generation 3 that issued h1..h3 (h3 the newest), rotated at T0, capped at T0 + 1 h. */
const FAMILY = {
  user: 'u1',
  roles: ROLES,
  gen: 3,
  rotatedAt: T0,
  lastUsedAt: T0,
  createdAt: T0 - HOUR,
  absExp: T0 + HOUR,
  ip: '10.0.0.1',
  ua: 'old-ua',
  't:h1': 1,
  't:h2': 2,
  't:h3': 3,
}

interface Row {
  d: string
  /** Absent: the family does not exist. */
  family?: Record<string, string | number>
  presented: string
  successor: string
  now: number
  graceMs?: number
  slidingTtlMs?: number
  /** The request's DPoP proof thumbprint; default none (''). */
  jkt?: string
  reply: RotateReply
  /** The family afterwards (a subset), or null when it must be gone. */
  after: Record<string, string> | null
  /** Upper bound of the PTTL afterwards. */
  maxPttl?: number
}

/** The same family, bound to a DPoP key. */
const BOUND = { ...FAMILY, jkt: 'jkt-A' }

const rows: Row[] = [
  {
    d: 'a bound family rotates with a proof by its key, and replies the thumbprint',
    family: BOUND,
    presented: 'h3',
    successor: 'h4',
    now: T0 + 1000,
    jkt: 'jkt-A',
    reply: ['rotated', '4', 'u1', ROLES, 'jkt-A'],
    after: { gen: '4', 't:h4': '4', jkt: 'jkt-A' },
  },
  {
    d: 'a bound family without a proof is key_mismatch and nothing changes',
    family: BOUND,
    presented: 'h3',
    successor: 'h4',
    now: T0 + 1000,
    reply: ['key_mismatch'],
    after: { gen: '3', 't:h3': '3', rotatedAt: String(T0), ip: '10.0.0.1', jkt: 'jkt-A' },
  },
  {
    d: 'a bound family with a proof by another key is key_mismatch and nothing changes',
    family: BOUND,
    presented: 'h3',
    successor: 'h4',
    now: T0 + 1000,
    jkt: 'jkt-B',
    reply: ['key_mismatch'],
    after: { gen: '3', rotatedAt: String(T0), jkt: 'jkt-A' },
  },
  {
    d: 'an old token of a bound family without the key is key_mismatch, not a reuse: the family stays',
    family: BOUND,
    presented: 'h1',
    successor: 'h2',
    now: T0 + 10,
    reply: ['key_mismatch'],
    after: { gen: '3', jkt: 'jkt-A' },
  },
  {
    d: 'an unbound family refreshed with a proof stays unbound (the reply has no thumbprint)',
    family: FAMILY,
    presented: 'h3',
    successor: 'h4',
    now: T0 + 1000,
    jkt: 'jkt-A',
    reply: ['rotated', '4', 'u1', ROLES, ''],
    after: { gen: '4' },
  },
  {
    d: 'the newest token rotates: generation 4, the successor recorded, the client and times updated',
    family: FAMILY,
    presented: 'h3',
    successor: 'h4',
    now: T0 + 1000,
    reply: ['rotated', '4', 'u1', ROLES, ''],
    after: {
      gen: '4',
      't:h4': '4',
      rotatedAt: String(T0 + 1000),
      lastUsedAt: String(T0 + 1000),
      ip: '10.0.0.9',
      ua: 'new-ua',
    },
    maxPttl: 60_000,
  },
  {
    d: 'a rotation close to the absolute cap gets a TTL that ends at absExp, not the full sliding TTL',
    family: FAMILY,
    presented: 'h3',
    successor: 'h4',
    now: T0 + HOUR - 5000,
    reply: ['rotated', '4', 'u1', ROLES, ''],
    after: { gen: '4' },
    maxPttl: 5000,
  },
  {
    d: 'the previous token within the grace gets the same successor and changes nothing',
    family: FAMILY,
    presented: 'h2',
    successor: 'h3',
    now: T0 + 900,
    graceMs: 1000,
    reply: ['same', '3', 'u1', ROLES, ''],
    after: { gen: '3', rotatedAt: String(T0), ip: '10.0.0.1' },
  },
  {
    d: 'the previous token after the grace is a reuse: the family is deleted',
    family: FAMILY,
    presented: 'h2',
    successor: 'h3',
    now: T0 + 1001,
    graceMs: 1000,
    reply: ['reused', '3', 'u1', ROLES],
    after: null,
  },
  {
    d: 'a token two generations old is a reuse even within the grace',
    family: FAMILY,
    presented: 'h1',
    successor: 'h2',
    now: T0 + 10,
    graceMs: 1000,
    reply: ['reused', '3', 'u1', ROLES],
    after: null,
  },
  {
    d: 'the previous token within the grace whose successor was not the one issued is a reuse',
    family: FAMILY,
    presented: 'h2',
    successor: 'h9',
    now: T0 + 10,
    graceMs: 1000,
    reply: ['reused', '3', 'u1', ROLES],
    after: null,
  },
  {
    d: 'a token the family never issued is invalid and revokes nothing',
    family: FAMILY,
    presented: 'h9',
    successor: 'h10',
    now: T0 + 10,
    reply: ['invalid'],
    after: { gen: '3', 't:h3': '3' },
  },
  {
    d: 'any token of a family that does not exist (ended or expired) is invalid',
    presented: 'h3',
    successor: 'h4',
    now: T0,
    reply: ['invalid'],
    after: null,
  },
  {
    d: 'the newest token at absExp is expired: the family is deleted',
    family: FAMILY,
    presented: 'h3',
    successor: 'h4',
    now: T0 + HOUR,
    reply: ['expired'],
    after: null,
  },
  {
    d: 'past absExp an old token is expired, not a reuse',
    family: FAMILY,
    presented: 'h1',
    successor: 'h2',
    now: T0 + HOUR + 1,
    reply: ['expired'],
    after: null,
  },
]

t.test('rotate script: one case per branch', async (t) => {
  const redis = await useTestRedis(t)
  defineRotate(redis.client)
  for (const [i, row] of rows.entries()) {
    const key = `${redis.prefix}rt:{case-${i}}`
    if (row.family) await redis.client.multi().hset(key, row.family).pexpire(key, HOUR).exec()
    const reply = await rotateFamily(redis.client, key, {
      presentedHash: row.presented,
      successorHash: row.successor,
      now: row.now,
      graceMs: row.graceMs ?? 10_000,
      slidingTtlMs: row.slidingTtlMs ?? 60_000,
      ip: '10.0.0.9',
      userAgent: 'new-ua',
      jkt: row.jkt ?? '',
    })
    t.same(reply, row.reply, `${row.d}: reply`)
    const after = await redis.client.hgetall(key)
    if (row.after === null) t.same(after, {}, `${row.d}: the family is gone`)
    else t.match(after, row.after, `${row.d}: state afterwards`)
    if (row.maxPttl !== undefined) {
      const pttl = await redis.client.pttl(key)
      t.ok(pttl > 0 && pttl <= row.maxPttl, `${row.d}: PTTL ${pttl} ≤ ${row.maxPttl}`)
    }
  }
})

t.test('set-roles script: only on a family that still exists, keeping its TTL', async (t) => {
  const redis = await useTestRedis(t)
  defineSetRoles(redis.client)
  const live = `${redis.prefix}rt:{live}`
  await redis.client.multi().hset(live, FAMILY).pexpire(live, HOUR).exec()
  t.equal(await setFamilyRoles(redis.client, live, ['user', 'admin']), true, 'a live family: updated')
  t.equal(await redis.client.hget(live, 'roles'), '["user","admin"]')
  t.ok(await redis.client.pttl(live) > 0, 'its expiry is kept')
  const gone = `${redis.prefix}rt:{gone}`
  t.equal(await setFamilyRoles(redis.client, gone, ['user', 'admin']), false, 'an ended family: not updated')
  t.equal(await redis.client.exists(gone), 0, 'and not recreated without a TTL')
})

t.test('families on an injected clock: grace, reuse and the absolute cap without sleeping', async (t) => {
  const redis = await useTestRedis(t)
  let clock = T0
  const families = createFamilies(redis.client, {
    prefix: redis.prefix, refreshTokenTtl: 600, sessionMaxAge: 3600, refreshReuseGrace: 10, now: () => clock,
  })
  const secret = 's'.repeat(43)
  const client = { ip: '127.0.0.1', userAgent: 'clock-test' }
  const rotate = async (token: string) =>
    await families.rotate(token.split('.')[0]!, token, successorOf(token, secret), client)

  const { familyId, refreshToken: first } = await families.create('u1', ['user'], client)
  t.match(await families.get(familyId), { userId: 'u1', createdAt: T0, lastUsedAt: T0 }, 'created at the clock\'s now')
  clock += 1000
  const second = await rotate(first)
  t.match(second, { status: 'rotated', generation: 1, refreshToken: successorOf(first, secret) })
  clock += 10_000
  t.match(await rotate(first), { status: 'rotated', generation: 1 },
    'the grace (10 s) after the rotation: the same successor')
  clock += 1
  t.match(await rotate(first), { status: 'reused', familyId, userId: 'u1' }, 'one ms past the grace: a reuse')
  t.equal(await families.exists(familyId), false, 'and the family is gone')

  const createdAt = clock
  const other = await families.create('u1', ['user'], client)
  let token = other.refreshToken
  for (let i = 0; i < 5; i++) {
    clock += 590_000 // refreshed within the sliding TTL each time: alive
    const r = await rotate(token)
    t.equal(r.status, 'rotated', `refresh ${i + 1} at +${(clock - createdAt) / 1000} s`)
    if (r.status === 'rotated') token = r.refreshToken
  }
  clock = createdAt + 3600_000 // SESSION_MAX_AGE after the login
  t.same(await rotate(token), { status: 'expired' }, 'past SESSION_MAX_AGE: expired, though used recently')
  t.equal(await families.exists(other.familyId), false, 'the family is deleted')
})
