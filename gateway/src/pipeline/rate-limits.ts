/**
 * Pipeline stages 4 and 8, rate limits (@fastify/rate-limit on Redis, rate-limit-store.ts): 429
 * `rate_limited` with Retry-After and x-ratelimit-* headers.
 *
 * - stage 4, per client IP before anything else: POST login, register and refresh on rules with
 *   rateLimit 'auth-endpoints' (a password guesser never reaches the auth service), and the
 *   gateway's own 404s (an attacker could search for valid URLs)
 * - stage 8, per user (`sub`) once the token is verified: rules with rateLimit 'per-user'
 * - Redis down: the limits fail OPEN (skipOnError), availability over limiting; revocation and
 *   readiness report Redis anyway
 * @see https://github.com/fastify/fastify-rate-limit
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import type { RedisClient } from '../../../services/kernel/redis.js'
import { RateLimitedError } from '../errors.js'
import { canonicalPath } from './http.js'
import { redisStore } from './rate-limit-store.js'
import { kGatewaySession } from './session.js'
import type { Stage } from './stage.js'

export const RATE_LIMIT_WINDOW_MS = 60_000
/** The auth-service calls limited per IP, each with its own counter. */
export const AUTH_LIMITED = new Map([
  ['/auth/login', 'login'], ['/auth/register', 'register'], ['/auth/refresh', 'refresh'],
])

export interface RateLimitOptions {
  redis: RedisClient
  /** REDIS_PREFIX; keys are `<prefix>rl:<limiter>:<who>`. */
  prefix: string
  authPerMinute: number
  apiPerMinute: number
  notFoundPerMinute: number
}

export interface RateLimitStages { perIp: Stage, perUser: Stage }

type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

const byIp = (request: FastifyRequest) => request[kGatewaySession]?.clientIp || request.ip
const byUser = (request: FastifyRequest) => request[kGatewaySession]?.identity?.subject ?? ''

/** Registers the plugin, then makes the limiters once: the stages only pick one. */
export async function registerRateLimits (app: FastifyInstance, opts: RateLimitOptions): Promise<RateLimitStages> {
  await app.register(rateLimit, {
    global: false,
    store: redisStore(opts.redis, `${opts.prefix}rl:`),
    skipOnError: true,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
  })
  const limiter = (name: string, max: number, keyOf: (request: FastifyRequest) => string): Limiter =>
    app.rateLimit({ max, timeWindow: RATE_LIMIT_WINDOW_MS, keyGenerator: (r) => `${name}:${keyOf(r)}` }) as Limiter
  const authLimiters = new Map([...AUTH_LIMITED.values()].map((name) => {
    return [name, limiter(`auth-${name}`, opts.authPerMinute, byIp)] as const
  }))
  const api = limiter('api', opts.apiPerMinute, byUser)
  const notFound = limiter('not-found', opts.notFoundPerMinute, byIp)

  return {
    perIp: (request, reply, session) => {
      if (session.rule === undefined) return session.notFound ? notFound(request, reply) : undefined
      if (session.rule.rateLimit !== 'auth-endpoints' || request.method !== 'POST') return undefined
      const name = AUTH_LIMITED.get(canonicalPath(request.url))
      return name === undefined ? undefined : authLimiters.get(name)!(request, reply)
    },
    perUser: (request, reply, session) => {
      if (session.rule?.rateLimit !== 'per-user' || session.identity === null) return undefined
      return api(request, reply)
    },
  }
}
