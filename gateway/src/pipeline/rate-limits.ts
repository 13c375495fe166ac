/**
 * Pipeline stages 4 and 8, rate limits (@fastify/rate-limit on Redis, rate-limit-store.ts): 429
 * `rate_limited` with Retry-After and x-ratelimit-* headers. Each rule's `rateLimit` (the
 * gateway file's `{ key, perMinute, methods, paths, bucket }`) is made into its limiters once per
 * configuration (start-up and each reload, `compile`); a request only picks one, from the rules
 * of the configuration it started on. Counters live in Redis, so a reload keeps every count.
 *
 * - stage 4, key 'ip', per client IP before the token is read (a password guesser never reaches
 *   the auth service); and the gateway's own 404s per IP (an attacker could search for valid URLs)
 * - stage 8, key 'user', per token `sub` once the token is verified; a request an `auth:
 *   optional` route forwards without a token is counted per client IP in the same bucket
 * - `methods`: only those are counted; `paths`: each listed path (exact, as the upstream router
 *   sees it) has its own counter, other paths are not counted; neither: one counter per bucket
 * - counters are `<prefix>rl:<bucket>[-<path under the prefix>]:<who>` (e.g. `rl:auth-login:<ip>`,
 *   `rl:api:<sub>`); routes naming one bucket share them
 * - Redis down: the limits fail OPEN (skipOnError), availability over limiting; revocation and
 *   readiness report Redis anyway
 * @see https://github.com/fastify/fastify-rate-limit
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import type { RedisClient } from '../../../services/kernel/redis.js'
import { RateLimitedError } from '../errors.js'
import type { Rule } from '../rules.js'
import { canonicalPath } from './http.js'
import { redisStore } from './rate-limit-store.js'
import { kGatewaySession } from './session.js'
import type { Stage } from './stage.js'
import { counterName } from '../gateway-file/validate.js'

export const RATE_LIMIT_WINDOW_MS = 60_000

export interface RateLimitOptions {
  redis: RedisClient
  /** REDIS_PREFIX; keys are `<prefix>rl:<limiter>:<who>`. */
  prefix: string
  notFoundPerMinute: number
}

/** One configuration's limiters, by rule. */
export interface CompiledLimits {
  perIp: ReadonlyMap<Rule, RuleLimit>
  perUser: ReadonlyMap<Rule, RuleLimit>
  /** Requests an optional route forwards without a token: per IP, apart from the users' counters. */
  anonymous: ReadonlyMap<Rule, RuleLimit>
}

export interface RateLimits {
  /** The rules' `rateLimit`s made into limiters (start-up and each reload). */
  compile: (rules: readonly Rule[]) => CompiledLimits
  /** Stages 4 and 8: they read the limits of the session's configuration. */
  perIp: Stage
  perUser: Stage
}

type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** One rule's limit, compiled: the methods counted (null: all), and one limiter per path or one for all. */
export interface RuleLimit {
  methods: ReadonlySet<string> | null
  byPath: ReadonlyMap<string, Limiter> | null
  all: Limiter | null
}

const byIp = (request: FastifyRequest) => request[kGatewaySession]?.clientIp || request.ip
const bySubject = (request: FastifyRequest) => request[kGatewaySession]?.identity?.subject ?? ''

/** Registers the plugin; the limiters are made by `compile`, the stages only pick one. */
export async function registerRateLimits (app: FastifyInstance, opts: RateLimitOptions): Promise<RateLimits> {
  await app.register(rateLimit, {
    global: false,
    store: redisStore(opts.redis, `${opts.prefix}rl:`),
    skipOnError: true,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
  })
  const newLimiter = (name: string, max: number, keyOf: (request: FastifyRequest) => string): Limiter =>
    app.rateLimit({ max, timeWindow: RATE_LIMIT_WINDOW_MS, keyGenerator: (r) => `${name}:${keyOf(r)}` }) as Limiter
  const notFound = newLimiter('not-found', opts.notFoundPerMinute, byIp)

  function compile (rules: readonly Rule[]): CompiledLimits {
    const made = new Map<string, Limiter>() // a shared bucket: one limiter (validation made their counts agree)
    const limiter = (name: string, max: number, keyOf: (request: FastifyRequest) => string): Limiter => {
      let l = made.get(name)
      if (l === undefined) made.set(name, l = newLimiter(name, max, keyOf))
      return l
    }
    const compileRule = (rule: Rule, keyOf: (request: FastifyRequest) => string, suffix = ''): RuleLimit => {
      const spec = rule.rateLimit!
      const make = (name: string) => limiter(`${name}${suffix}`, spec.perMinute, keyOf)
      return {
        methods: spec.methods.length > 0 ? new Set(spec.methods) : null,
        byPath: spec.paths.length > 0
          ? new Map(spec.paths.map((p) => [p.toLowerCase(), make(counterName(spec.bucket, rule.prefix, p))]))
          : null,
        all: spec.paths.length > 0 ? null : make(spec.bucket),
      }
    }
    const perIp = new Map<Rule, RuleLimit>()
    const perUser = new Map<Rule, RuleLimit>()
    const anonymous = new Map<Rule, RuleLimit>()
    for (const rule of rules) {
      if (rule.rateLimit === null) continue
      if (rule.rateLimit.key === 'ip') { perIp.set(rule, compileRule(rule, byIp)); continue }
      perUser.set(rule, compileRule(rule, bySubject))
      if (rule.auth === 'optional') anonymous.set(rule, compileRule(rule, byIp, '-anonymous'))
    }
    return { perIp, perUser, anonymous }
  }

  const pick = (limit: RuleLimit, request: FastifyRequest): Limiter | undefined => {
    if (limit.methods !== null && !limit.methods.has(request.method)) return undefined
    return limit.all ?? limit.byPath!.get(canonicalPath(request.url))
  }
  return {
    compile,
    perIp: (request, reply, session) => {
      if (session.rule === undefined) return session.notFound ? notFound(request, reply) : undefined
      const limit = session.active.limits.perIp.get(session.rule)
      if (limit === undefined) return undefined
      return pick(limit, request)?.(request, reply)
    },
    perUser: (request, reply, session) => {
      const rule = session.rule
      if (rule === undefined) return undefined
      const { limits } = session.active
      const limit = session.identity === null ? limits.anonymous.get(rule) : limits.perUser.get(rule)
      if (limit === undefined) return undefined
      return pick(limit, request)?.(request, reply)
    },
  }
}
