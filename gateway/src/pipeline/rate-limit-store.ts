/**
 * The Redis store of the rate limits (rate-limits.ts, stages 4 and 8): exact counts shared by
 * every gateway replica, one script call per event-loop turn.
 *
 * - keys are exactly `<namespace><key>` (the plugin's own RedisStore adds the route, which a
 *   limiter used as a stage does not have)
 * - the requests of one turn share one Redis call (per cluster slot), not one call each
 * - fails fast when the client is not connected, so a Redis outage costs no request any waiting
 * @see https://github.com/fastify/fastify-rate-limit/blob/main/store/RedisStore.js
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import calculateSlot from 'cluster-key-slot'
import { isCluster, type RedisClient } from '../../../services/kernel/redis.js'

// For each key: INCR, and PEXPIRE on the first hit (the RedisStore pattern), in one atomic
// step; every request counted in one event-loop turn goes in one call. Returns
// { count1, ttl1, count2, ttl2, ... }.
const LUA = `
local out = {}
for i = 1, #KEYS do
  local current = redis.call('INCR', KEYS[i])
  local window = tonumber(ARGV[i])
  local ttl
  if current == 1 then
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

type Count = (err: Error | null, result?: { current: number, ttl: number }) => void
interface Queued { key: string, windowMs: number, callback: Count }
type WithCommand = RedisClient & { gatewayRateLimit?: (...args: Array<string | number>) => Promise<number[]> }

/** A @fastify/rate-limit store over `redis`, every key under `namespace`. */
export function redisStore (redis: RedisClient, namespace: string): FastifyRateLimitStoreCtor {
  const client = redis as WithCommand
  if (!client.gatewayRateLimit) client.defineCommand('gatewayRateLimit', { lua: LUA })
  const cluster = isCluster(redis)
  let queue: Queued[] = []

  function send (batch: Queued[]): void {
    const args: Array<string | number> = [batch.length]
    for (const q of batch) args.push(q.key)
    for (const q of batch) args.push(q.windowMs)
    client.gatewayRateLimit!(...args).then(
      (out) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.callback(null, { current: out[2 * i]!, ttl: out[2 * i + 1]! })
      },
      (err: Error) => { for (const q of batch) q.callback(err) }
    )
  }

  function flush (): void {
    const batch = queue
    queue = []
    if (!cluster) { send(batch); return }
    // A script's keys must share a slot in a cluster.
    const bySlot = new Map<number, Queued[]>()
    for (const q of batch) {
      const slot = calculateSlot(q.key)
      const group = bySlot.get(slot)
      if (group) group.push(q)
      else bySlot.set(slot, [q])
    }
    for (const group of bySlot.values()) send(group)
  }

  const store: FastifyRateLimitStore = {
    incr (key, callback, timeWindow) {
      if (client.status !== 'ready') { callback(new Error(`redis is ${client.status}`)); return }
      queue.push({ key: namespace + key, windowMs: timeWindow, callback: callback as Count })
      // setImmediate, not nextTick: every socket read in this turn of the loop gets in.
      if (queue.length === 1) setImmediate(flush)
    },
    child: () => store,
  }
  return function RedisRateLimitStore () { return store } as unknown as FastifyRateLimitStoreCtor
}
