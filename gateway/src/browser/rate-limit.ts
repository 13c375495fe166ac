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
import type { RedisClient } from '../../../scripts/lib/redis-client.js'
import { RateLimitedError } from '../errors.js'
import { JSON_ONLY_PREFIXES } from '../routes.js'
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

// INCR + PEXPIRE on the first hit, in one atomic step (the RedisStore pattern).
const LUA = `
local current = redis.call('INCR', KEYS[1])
local ttl
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
else
  ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
end
return { current, ttl }
`

type WithCommand = RedisClient & { gatewayRateLimit?: (key: string, windowMs: number) => Promise<[number, number]> }

/**
 * A store whose keys are exactly `<namespace><key>` (the plugin's own RedisStore adds the
 * route to the key, which a limiter used as a hook does not have). Fails fast when the
 * client is not connected, so a Redis outage costs no request any waiting.
 */
export function redisStore (redis: RedisClient, namespace: string): FastifyRateLimitStoreCtor {
  const client = redis as WithCommand
  if (!client.gatewayRateLimit) client.defineCommand('gatewayRateLimit', { numberOfKeys: 1, lua: LUA })
  const store: FastifyRateLimitStore = {
    incr (key, callback, timeWindow) {
      if (client.status !== 'ready') { callback(new Error(`redis is ${client.status}`)); return }
      client.gatewayRateLimit!(namespace + key, timeWindow).then(
        ([current, ttl]) => callback(null, { current, ttl }),
        (err: Error) => callback(err)
      )
    },
    child: () => store,
  }
  return function RedisRateLimitStore () { return store } as unknown as FastifyRateLimitStoreCtor
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Is this request answered by the gateway's own 404 (not-found handler or an unknown /api path)? */
function isGatewayNotFound (request: FastifyRequest): boolean {
  if (request.is404) return true
  const url = request.routeOptions.url
  return !request.routeOptions.config?.gatewayRule && url !== undefined &&
    JSON_ONLY_PREFIXES.some((p) => url === p || url === `${p}/*`)
}

/**
 * Registers the plugin and returns the three hooks; app.ts places them: `auth` and
 * `notFound` before authentication, `api` after it.
 */
export function registerRateLimits (app: FastifyInstance, opts: RateLimitOptions): { auth: Hook, api: Hook, notFound: Hook } {
  app.register(rateLimit, {
    global: false,
    store: redisStore(opts.redis, `${opts.prefix}rl:`),
    skipOnError: true,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
  })
  const limiters = new Map<string, Hook>()
  const limiter = (name: string, max: number, keyOf: (request: FastifyRequest) => string): Hook => {
    return async (request, reply) => {
      let hook = limiters.get(name)
      if (!hook) {
        hook = app.rateLimit({ max, timeWindow: RATE_LIMIT_WINDOW_MS, keyGenerator: (r) => `${name}:${keyOf(r)}` }) as unknown as Hook
        limiters.set(name, hook)
      }
      await hook(request, reply)
    }
  }
  const byIp = (request: FastifyRequest) => request.gatewayClientIp || request.ip
  const authLimiters = new Map([...AUTH_LIMITED.values()].map((name) => [name, limiter(`auth-${name}`, opts.authPerMinute, byIp)]))
  const api = limiter('api', opts.apiPerMinute, (request) => request.gatewayIdentity?.subject ?? '')
  const notFound = limiter('not-found', opts.notFoundPerMinute, byIp)

  return {
    auth: async (request, reply) => {
      if (request.method !== 'POST' || !request.routeOptions.config?.gatewayRule?.forwardCredentials) return
      const name = AUTH_LIMITED.get(canonicalPath(request.url))
      if (name) await authLimiters.get(name)!(request, reply)
    },
    api: async (request, reply) => {
      const rule = request.routeOptions.config?.gatewayRule
      if (!rule || !request.gatewayIdentity || !rule.prefix.startsWith('/api/')) return
      await api(request, reply)
    },
    notFound: async (request, reply) => {
      if (isGatewayNotFound(request)) await notFound(request, reply)
    },
  }
}
