/**
 * Browser protection, rate limits (@fastify/rate-limit on Redis, so every gateway replica
 * counts in the same place): per client IP on POST /auth/login, /auth/register and
 * /auth/refresh (before anything else; a password guesser never reaches the auth
 * service), per user (`sub`) on /api/* once the token is verified, and per IP on the
 * gateway's own 404s (an attacker could search for valid URLs). 429 `rate_limited` with
 * Retry-After and x-ratelimit-* headers. If Redis is down the limits fail OPEN
 * (skipOnError): availability over limiting; revocation and readiness report Redis anyway.
 * @see https://github.com/fastify/fastify-rate-limit
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import calculateSlot from 'cluster-key-slot'
import { isCluster, type RedisClient } from '../../../services/kernel/redis.js'
import { RateLimitedError } from '../errors.js'
import { JSON_ONLY_PREFIXES, type RouteRule } from '../routes.js'
import { canonicalPath } from './csrf.js'

export const RATE_LIMIT_WINDOW_MS = 60_000
/** The /auth calls limited per IP, each with its own counter. */
export const AUTH_LIMITED = new Map([['/auth/login', 'login'], ['/auth/register', 'register'], ['/auth/refresh', 'refresh']])

export interface RateLimitOptions {
  redis: RedisClient
  /** REDIS_PREFIX; keys are `<prefix>rl:<limiter>:<who>`. */
  prefix: string
  authPerMinute: number
  apiPerMinute: number
  notFoundPerMinute: number
}

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

/**
 * A store whose keys are exactly `<namespace><key>` (the plugin's own RedisStore adds the
 * route to the key, which a limiter used as a stage does not have). Every count is exact
 * and shared, but the requests of one event-loop turn share one Redis call (per cluster
 * slot): one script call per turn instead of one per request. Fails fast when the client
 * is not connected, so a Redis outage costs no request any waiting.
 */
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
      (out) => { for (let i = 0; i < batch.length; i++) batch[i]!.callback(null, { current: out[2 * i]!, ttl: out[2 * i + 1]! }) },
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

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>
/** A limiter stage: a promise when the request is counted, undefined when the limiter does not apply. */
type Stage = (request: FastifyRequest, reply: FastifyReply, rule: RouteRule | undefined) => Promise<void> | undefined

/** Is this request answered by the gateway's own 404 (not-found handler or an unknown /api path)? */
function isGatewayNotFound (rule: RouteRule | undefined, routeUrl: string | undefined): boolean {
  if (rule) return false
  if (routeUrl === undefined) return true
  return JSON_ONLY_PREFIXES.some((p) => routeUrl === p || routeUrl === `${p}/*`)
}

/**
 * Registers the plugin and returns the three limiter stages; the request pipeline (app.ts)
 * runs `auth` and `notFound` before authentication, `api` after it.
 */
export function registerRateLimits (app: FastifyInstance, opts: RateLimitOptions): { auth: Stage, api: Stage, notFound: (request: FastifyRequest, reply: FastifyReply, rule: RouteRule | undefined, routeUrl: string | undefined) => Promise<void> | undefined } {
  app.register(rateLimit, {
    global: false,
    store: redisStore(opts.redis, `${opts.prefix}rl:`),
    skipOnError: true,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
  })
  // app.rateLimit exists once the plugin is registered: each limiter is made on first use.
  const limiter = (name: string, max: number, keyOf: (request: FastifyRequest) => string): Hook => {
    let hook: Hook | undefined
    return (request, reply) => {
      hook ??= app.rateLimit({ max, timeWindow: RATE_LIMIT_WINDOW_MS, keyGenerator: (r) => `${name}:${keyOf(r)}` }) as unknown as Hook
      return hook(request, reply)
    }
  }
  const byIp = (request: FastifyRequest) => request.gatewayClientIp || request.ip
  const authLimiters = new Map([...AUTH_LIMITED.values()].map((name) => [name, limiter(`auth-${name}`, opts.authPerMinute, byIp)]))
  const api = limiter('api', opts.apiPerMinute, (request) => request.gatewayIdentity?.subject ?? '')
  const notFound = limiter('not-found', opts.notFoundPerMinute, byIp)

  return {
    auth: (request, reply, rule) => {
      if (request.method !== 'POST' || !rule?.forwardCredentials) return undefined
      const name = AUTH_LIMITED.get(canonicalPath(request.url))
      return name === undefined ? undefined : authLimiters.get(name)!(request, reply)
    },
    api: (request, reply, rule) => {
      if (!rule || !request.gatewayIdentity || !rule.prefix.startsWith('/api/')) return undefined
      return api(request, reply)
    },
    notFound: (request, reply, rule, routeUrl) => isGatewayNotFound(rule, routeUrl) ? notFound(request, reply) : undefined,
  }
}
