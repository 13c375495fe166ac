/**
 * A busy key takes its counts from Redis in leases (pipeline/rate-limit-store.ts): far fewer
 * Redis calls than requests, still never past the limit across two replicas, and a window past
 * its limit answered without Redis; the store itself under a wall clock stepped back, a burst of
 * one turn, and a Redis that stops answering. Redis calls counted by Redis itself (MONITOR, on a
 * private redis-server).
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer } from '../../../scripts/local-redis/redis-server.js'
import { bearer, request } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { startCountingUpstream } from '../helpers/browser-fixtures.js'
import { startGateway } from '../helpers/fixtures.js'
import { redisStore } from '../../src/pipeline/rate-limit-store.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const upstream = await startCountingUpstream(t)
const server = await startRedisServer()
t.teardown(() => server.stop({ removeDir: true }))
const prefix = 'test:rl-lease:'
const limit = 1000 // a lease is at most 1 %: 10 counts
const [a, b] = await Promise.all([1, 2].map(() => startGateway(t, {
  jwksUrl: `${jwks.url}/.well-known/jwks.json`,
  upstream: upstream.url,
  redis: { url: server.url, prefix },
  // A paused Redis (the last test) fails a command after 1 s.
  config: { rateLimitApi: limit, redisCommandTimeoutMs: 1000 },
})))

const redis = new Redis(server.url)
t.teardown(() => redis.disconnect())
const monitored = new Redis(server.url)
t.teardown(() => monitored.disconnect())
const monitor = await monitored.monitor()
t.teardown(() => monitor.disconnect())
let scriptCalls = 0
const seen = new Set<string>()
monitor.on('monitor', (_time: string, args: string[], source: string) => {
  const command = String(args[0]).toLowerCase()
  if (source !== 'lua' && (command === 'evalsha' || command === 'eval')) scriptCalls++ // a new client's first: EVAL
  if (command === 'echo') seen.add(String(args[1]))
})
/** The script calls Redis has run so far (once MONITOR has caught up with an ECHO sent now). */
async function callsSoFar (): Promise<number> {
  const marker = `marker-${seen.size}`
  await redis.echo(marker)
  await waitFor(() => seen.has(marker), 5000, 'MONITOR to catch up')
  return scriptCalls
}

const get = (url: string, token: string) => request(url, '/api/orders', { headers: [bearer(token)] })

t.test('one busy user on one replica: a count per request, a Redis call per lease', async (t) => {
  const alice = await signToken(signer, { claims: { sub: 'alice' } })
  const before = await callsSoFar()
  const remaining: number[] = []
  for (let i = 0; i < 200; i++) {
    const res = await get(a!.url, alice)
    t.equal(res.status, 200)
    remaining.push(Number(res.headers['x-ratelimit-remaining']))
  }
  t.same(remaining, Array.from({ length: 200 }, (_, i) => limit - 1 - i), 'every count once, in order')
  const calls = await callsSoFar() - before
  t.comment(`200 requests, ${calls} Redis calls`)
  // Leases of 1, 2, 4, 8, then 10 (1 % of the limit): 4 + 19 calls; never more than 1 % at once.
  t.ok(calls >= 20 && calls <= 40, `${calls} Redis calls for 200 requests`)
  const counted = Number(await redis.get(`${prefix}rl:api:alice`))
  t.ok(counted >= 200 && counted < 210, `Redis holds what was given out and at most one lease more (${counted})`)
})

t.test('two replicas past the limit: exactly the limit served, then 429s without Redis', async (t) => {
  const bob = await signToken(signer, { claims: { sub: 'bob' } })
  const before = upstream.hits()
  const statuses: number[] = []
  // Both replicas at once, 20 requests in flight, until 1,100 have been answered.
  for (let round = 0; round < 55; round++) {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get((i % 2 === 0 ? a : b)!.url, bob)))
    statuses.push(...answers.map((r) => r.status))
  }
  t.equal(statuses.filter((s) => s === 200).length, limit, 'never past the limit, none lost while both asked')
  t.equal(statuses.filter((s) => s === 429).length, 100)
  t.equal(upstream.hits(), before + limit, 'the limited requests never reached a service')
  t.ok(Number(await redis.get(`${prefix}rl:api:bob`)) >= limit, 'Redis counted at least what was served')

  const calls = await callsSoFar()
  const refused = await Promise.all(Array.from({ length: 10 }, (_, i) => get((i % 2 === 0 ? a : b)!.url, bob)))
  t.same(refused.map((r) => [r.status, r.json?.error]), Array(10).fill([429, 'rate_limited']))
  t.ok(Number(refused[0]!.headers['retry-after']) >= 1, 'Retry-After from the window this replica knows')
  t.equal(await callsSoFar() - calls, 0, 'a window past its limit is answered without Redis')
})

type Counted = { current: number, ttl: number }
/** The store as the plugin uses it (rate-limits.ts): one instance, incr with the window and the limit. */
async function storeOn (prefix: string) {
  const client = new Redis(server.url)
  t.teardown(() => client.disconnect())
  await new Promise((resolve) => client.once('ready', resolve))
  const Store = redisStore(client, prefix) as unknown as new (o: object) => {
    incr: (key: string, cb: (err: Error | null, r?: Counted) => void, windowMs: number, max: number) => void
  }
  const store = new Store({})
  const incr = (key: string, windowMs: number, max: number) => new Promise<Counted>((resolve, reject) => {
    store.incr(key, (err, r) => { if (err) reject(err); else resolve(r!) }, windowMs, max)
  })
  return { store, incr }
}

t.test('a wall clock stepped back does not stretch a lease past its Redis window', async (t) => {
  const { incr } = await storeOn('test:rl-clock:')
  for (let i = 0; i < 20; i++) await incr('k', 300, 1000) // busy: leases of several counts
  const realNow = Date.now
  Date.now = () => realNow() - 10_000
  t.teardown(() => { Date.now = realNow })
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(await redis.exists('test:rl-clock:k'), 0, 'the Redis window is over')
  t.equal((await incr('k', 300, 1000)).current, 1, 'the next count starts the new window')
})

t.test('one turn of 150,000 calls on one key and 2,500 keys: every one answered, in calls of at most 1,000 keys',
  async (t) => {
    const { store, incr } = await storeOn('test:rl-burst:')
    const before = await callsSoFar()
    let answered = 0
    let highest = 0
    for (let i = 0; i < 150_000; i++) {
      store.incr('hot', (err, r) => { if (!err) { answered++; highest = Math.max(highest, r!.current) } }, 60_000, 1e9)
    }
    const many = await Promise.all(Array.from({ length: 2500 }, (_, i) => incr(`key-${i}`, 60_000, 10)))
    await waitFor(() => answered === 150_000, 10_000, 'every call on the hot key answered')
    t.equal(highest, 150_000, 'one count each, none twice')
    t.same(new Set(many.map((r) => r.current)), new Set([1]), 'each other key counted once')
    t.equal(await redis.get('test:rl-burst:hot'), '150000')
    const calls = await callsSoFar() - before
    t.ok(calls >= 3 && calls <= 5, `${calls} script calls for 2,501 keys`)
  })

t.test('Redis stops answering: the limit fails open after REDIS_COMMAND_TIMEOUT (1 s here), nothing hangs',
  async (t) => {
    const carol = await signToken(signer, { claims: { sub: 'carol' } })
    await redis.call('CLIENT', 'PAUSE', '4000', 'ALL')
    const started = Date.now()
    const res = await get(a!.url, carol)
    const waited = Date.now() - started
    t.equal(res.status, 200, 'served, not limited, while Redis is paused')
    t.ok(waited >= 900 && waited < 3500, `answered after ${waited} ms: the call timed out, Redis still paused`)
    await waitFor(async () => (await get(a!.url, carol)).headers['x-ratelimit-remaining'] !== undefined, 10_000,
      'counted again once Redis answers')
  })
