/**
 * The Redis store of the rate limits (rate-limits.ts, stages 4 and 8): fixed-window counts shared
 * by every gateway replica, taken from Redis one by one, or in leases for a busy key.
 *
 * - keys are exactly `<namespace><key>` (the plugin's own RedisStore adds the route, which a
 *   limiter used as a stage does not have)
 * - a key's counts come from Redis one at a time (INCR) until the key comes back within a second
 *   of its last call: then each call takes a lease (INCRBY n), n doubling up to 1 % of the limit,
 *   and this replica gives the counts out itself, no Redis call, until they are spent or the
 *   window ends. Every count given out was taken in Redis first, so no replica ever admits past
 *   the limit; what a lease costs is that its unspent counts (under 1 % of the limit) are used by
 *   no other replica in that window, and x-ratelimit-remaining there is that much lower
 * - a window known to be past the limit is answered here until it ends, without Redis
 * - the calls of one event-loop turn share one Redis call (per cluster slot), not one call each
 * - fails fast when the client is not connected, and a call fails when Redis has not answered in the
 *   client's commandTimeout (REDIS_COMMAND_TIMEOUT, plugins/redis.ts), so a Redis outage or stall
 *   costs a request at most that (the limits then fail open: skipOnError)
 * - windows are timed on the monotonic clock: a wall clock stepped back or forward moves no lease
 * @see https://github.com/fastify/fastify-rate-limit/blob/main/store/RedisStore.js
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import calculateSlot from 'cluster-key-slot'
import { isCluster, type RedisClient } from '../../../services/kernel/redis.js'

// For each key: INCRBY, and PEXPIRE when that made the key (the RedisStore pattern), in one atomic
// step. KEYS: the keys; ARGV: their windows, then their amounts. Returns { count1, ttl1, ... }.
const LUA = `
local out = {}
local n = #KEYS
for i = 1, n do
  local amount = tonumber(ARGV[n + i])
  local current = redis.call('INCRBY', KEYS[i], amount)
  local window = tonumber(ARGV[i])
  local ttl
  if current == amount then
    redis.call('PEXPIRE', KEYS[i], window)
    ttl = window
  else
    ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], window)
      ttl = window
    end
  end
  out[2 * i - 1] = current
  out[2 * i] = ttl
end
return out
`

/** A key that calls again within this long of its last Redis call takes a lease twice as large (else half). */
const BUSY_MS = 1000
/** A lease is at most this share of the limit (at least 1 count). */
const LEASE_SHARE = 0.01
/** Keys followed at once; past it a new key is counted one by one without being remembered. */
const MAX_KEYS = 100_000
const SWEEP_MS = 10_000
/** Keys per script call at most (its arguments are spread onto the stack). */
const MAX_BATCH = 1000

/** Milliseconds on the monotonic clock. */
const clock = (): number => performance.now()

type Count = (err: Error | null, result?: { current: number, ttl: number }) => void
interface Waiting { callback: Count, max: number }

/** One key's counts on this replica. */
interface Lease {
  readonly key: string
  readonly windowMs: number
  /** The next count to give out, and the last one taken from Redis (next > last: none left). */
  next: number
  last: number
  /** When the window of those counts ends (monotonic clock, from the call's start: never late). */
  endsAt: number
  /** The next lease's size, and when the last Redis call for this key went out. */
  size: number
  calledAt: number
  /** Requests waiting for the Redis call; `amount` is what it takes (0: no call, -1: queued). */
  waiting: Waiting[]
  amount: number
}

type WithCommand = RedisClient & { gatewayRateLimit?: (...args: Array<string | number>) => Promise<number[]> }

/** A @fastify/rate-limit store over `redis`, every key under `namespace`. */
export function redisStore (redis: RedisClient, namespace: string): FastifyRateLimitStoreCtor {
  const client = redis as WithCommand
  if (!client.gatewayRateLimit) client.defineCommand('gatewayRateLimit', { lua: LUA })
  const cluster = isCluster(redis)
  const leases = new Map<string, Lease>()
  let queue: Lease[] = []
  let sweepAt = clock() + SWEEP_MS

  /** Answers from the lease when it can; true if it did. */
  function answer (lease: Lease, callback: Count, max: number, now: number): boolean {
    if (now >= lease.endsAt) return false
    const ttl = Math.ceil(lease.endsAt - now)
    if (lease.next <= lease.last) { callback(null, { current: lease.next++, ttl }); return true }
    // Counted past the limit in Redis: every later count of this window is too.
    if (lease.last >= max) { callback(null, { current: max + 1, ttl }); return true }
    return false
  }

  function enqueue (lease: Lease, callback: Count, max: number): void {
    lease.waiting.push({ callback, max })
    if (lease.amount !== 0) return // its call is queued or on the way: the answer serves the waiting in turn
    lease.amount = -1 // queued
    queue.push(lease)
    // setImmediate, not nextTick: every socket read in this turn of the loop gets in.
    if (queue.length === 1) setImmediate(flush)
  }

  function send (batch: Lease[], now: number): void {
    const args: Array<string | number> = [batch.length]
    for (const lease of batch) {
      let max = 1
      for (const w of lease.waiting) if (w.max > max) max = w.max
      const busy = now - lease.calledAt < BUSY_MS
      const cap = Math.max(1, Math.floor(max * LEASE_SHARE))
      lease.size = Math.min(cap, busy ? lease.size * 2 : Math.max(1, lease.size >> 1))
      lease.calledAt = now
      lease.amount = Math.max(lease.size, lease.waiting.length)
      args.push(lease.key)
    }
    for (const lease of batch) args.push(lease.windowMs)
    for (const lease of batch) args.push(lease.amount)
    client.gatewayRateLimit!(...args).then(
      (out) => {
        for (let i = 0; i < batch.length; i++) settle(batch[i]!, now, out[2 * i]!, out[2 * i + 1]!)
      },
      (err: Error) => { for (const lease of batch) fail(lease, err) }
    )
  }

  function settle (lease: Lease, calledAt: number, count: number, ttl: number): void {
    lease.next = count - lease.amount + 1
    lease.last = count
    lease.endsAt = calledAt + ttl
    lease.amount = 0
    const waiting = lease.waiting
    lease.waiting = []
    const now = clock()
    for (const w of waiting) if (!answer(lease, w.callback, w.max, now)) enqueue(lease, w.callback, w.max)
  }

  function fail (lease: Lease, err: Error): void {
    const waiting = lease.waiting
    lease.waiting = []
    lease.amount = 0
    lease.next = 1
    lease.last = 0
    for (const w of waiting) w.callback(err)
  }

  function sendInChunks (batch: Lease[], now: number): void {
    for (let i = 0; i < batch.length; i += MAX_BATCH) send(batch.slice(i, i + MAX_BATCH), now)
  }

  function flush (): void {
    const batch = queue
    queue = []
    const now = clock()
    if (now >= sweepAt) sweep(now)
    if (!cluster) { sendInChunks(batch, now); return }
    // A script's keys must share a slot in a cluster.
    const bySlot = new Map<number, Lease[]>()
    for (const lease of batch) {
      const slot = calculateSlot(lease.key)
      const group = bySlot.get(slot)
      if (group) group.push(lease)
      else bySlot.set(slot, [lease])
    }
    for (const group of bySlot.values()) sendInChunks(group, now)
  }

  function sweep (now: number): void {
    sweepAt = now + SWEEP_MS
    for (const [key, lease] of leases) {
      if (lease.amount === 0 && now >= lease.endsAt + BUSY_MS) leases.delete(key)
    }
  }

  const newLease = (key: string, windowMs: number): Lease => ({
    key,
    windowMs,
    next: 1,
    last: 0,
    endsAt: -Infinity,
    size: 1,
    calledAt: -Infinity,
    waiting: [],
    amount: 0,
  })

  const store: FastifyRateLimitStore = {
    incr (key, callback, timeWindow, max) {
      if (client.status !== 'ready') { callback(new Error(`redis is ${client.status}`)); return }
      const full = namespace + key
      let lease = leases.get(full)
      if (lease === undefined) {
        lease = newLease(full, timeWindow)
        if (leases.size < MAX_KEYS) leases.set(full, lease)
      } else if (lease.amount === 0 && answer(lease, callback as Count, max, clock())) {
        return
      }
      enqueue(lease, callback as Count, max)
    },
    child: () => store,
  }
  return function RedisRateLimitStore () { return store } as unknown as FastifyRateLimitStoreCtor
}
