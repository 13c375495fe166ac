/**
 * The request pipeline: every request runs these stages in this order, in one root onRequest
 * hook, before proxy.ts forwards it. Module headers refer to these numbers.
 *
 * 1. strip           strip-headers.ts   client identity, hop-by-hop and forwarding headers
 * 2. request-limits  request-limits.ts  Host required, the rule's bodyLimit by Content-Length
 * 3. cors-preflight  cors-preflight.ts  every OPTIONS is answered here: the pipeline ends
 * 4. per-ip-limits   rate-limits.ts     rules with a rateLimit by key 'ip'; the gateway's own 404s
 * 5. authenticate    authenticate.ts    rules with auth 'required' or 'optional': credentials.ts (5a),
 *                                       token-cache.ts (5b), fast-verify.ts (5c), dpop.ts (5d)
 * 6. authorize       authorize.ts       the rule's roles for the method
 * 7. csrf            csrf.ts            the rule's csrf: 'double-submit' or 'origin'
 * 8. per-user-limit  rate-limits.ts     rules with a rateLimit by key 'user'
 * then forward (proxy.ts), the identity headers written by mutate.ts.
 *
 * - stages after 4 do nothing on a request no rule matches (own routes, 404s)
 * - the hook awaits only a stage that returns a promise: a token-cache hit runs it all synchronously
 * - each denial (errors.ts) is logged once with its rule and reason, and counted
 * - stage 5 is an `authenticate` span while tracing is on (ops/tracing.ts)
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createLiveConfig, type ActiveConfig, type LiveConfig, type TokenCheck } from '../active-config.js'
import { createProviderKeys } from '../keys/provider-keys.js'
import { createExternalProvider } from './external-provider.js'
import type { GatewayConfig } from '../config.js'
import { localProvider, type GatewayFile } from '../gateway-file/index.js'
import type { GatewayMetrics } from '../ops/metrics.js'
import { compileRules } from '../rules.js'
import { authenticateStage, createAuthenticator } from './authenticate.js'
import { authorizeStage } from './authorize.js'
import { createCorsPreflight } from './cors-preflight.js'
import { traceAuthenticate } from '../ops/tracing.js'
import { createCsrfStage } from './csrf.js'
import { createDpopCheck } from './dpop.js'
import { isDenial, type AnyDenial } from '../errors.js'
import { registerRateLimits } from './rate-limits.js'
import { requestLimitsStage } from './request-limits.js'
import { decorateSession, openSession, type GatewaySession } from './session.js'
import type { Stage } from './stage.js'
import { stripStage } from './strip-headers.js'
import type { TokenCache } from './token-cache.js'

export type { Stage, StageResult } from './stage.js'

export const STAGE_ORDER = [
  'strip', 'request-limits', 'cors-preflight', 'per-ip-limits', 'authenticate', 'authorize', 'csrf', 'per-user-limit',
] as const
export type StageName = typeof STAGE_ORDER[number]
export type StageTable = Readonly<Record<StageName, Stage>>

/** The stages in STAGE_ORDER: the one place their order is decided. */
export function orderStages (table: StageTable): readonly Stage[] {
  return Object.freeze(STAGE_ORDER.map((name) => table[name]))
}

export type OnDenial = (request: FastifyRequest, session: GatewaySession, denial: AnyDenial) => void
type PipelineHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** The onRequest hook: opens the session on the configuration in force, runs the stages until one answers or throws. */
export function createPipelineHook (
  stages: readonly Stage[], current: () => ActiveConfig, onDenial: OnDenial
): PipelineHook {
  const count = stages.length
  return async function gatewayPipeline (request, reply) {
    const session = openSession(request, current())
    try {
      for (let i = 0; i < count; i++) {
        let result = stages[i]!(request, reply, session)
        if (result instanceof Promise) result = await result
        if (result === true) return
      }
    } catch (err) {
      if (isDenial(err)) onDenial(request, session, err)
      throw err
    }
  }
}

export interface PipelineOptions {
  config: Readonly<GatewayConfig>
  metrics: GatewayMetrics
  tokenCache: TokenCache | undefined
  /** The gateway file at start-up; reloads replace it (`app.gatewayConfig`, active-config.ts). */
  file: GatewayFile
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The configuration in force, and how a reload compiles and swaps another (active-config.ts). */
    gatewayConfig: LiveConfig
  }
}

/** Registers the pipeline hook on the root; needs the redis, keys and revocations plugins. */
export const pipeline = fp(async function pipeline (app, opts: PipelineOptions) {
  const { config, metrics } = opts
  decorateSession(app)
  const limits = await registerRateLimits(app, {
    redis: app.gatewayRedis,
    prefix: config.redisPrefix,
    notFoundPerMinute: config.rateLimitNotFound,
  })
  const keys = createProviderKeys(app.gatewayKeys, config.jwksUrl, config, app.log)
  app.addHook('onReady', async () => { keys.start() })
  app.addHook('onClose', async () => { keys.stop() })
  const tokenCheckFor = (file: GatewayFile): TokenCheck => {
    const provider = localProvider(file)
    const stores = new Map(file.providers.map((p) => [p, keys.storeFor(p)] as const))
    const local = stores.get(provider)!
    const external = new Map(file.providers.filter((p) => p !== provider).map((p) => {
      return [p.issuer, createExternalProvider(p, stores.get(p)!, config.clockToleranceS)] as const
    }))
    const providers = file.providers.map((p) => ({ id: p.id, keys: stores.get(p)! }))
    const authenticate = createAuthenticator({
      providerId: provider.id,
      external,
      issuer: provider.issuer,
      audience: provider.audience.length === 1 ? provider.audience[0]! : provider.audience,
      clockToleranceS: provider.clockToleranceS ?? config.clockToleranceS,
      maxTokenBytes: config.maxTokenBytes,
      getKey: local.getKey,
      isCurrentKey: local.isCurrentKey,
      isRevoked: app.gatewayRevocations.isRevoked,
      verifyImplementation: config.verifyImplementation,
      cache: opts.tokenCache,
    })
    return { authenticate, providers }
  }
  const live = createLiveConfig({
    rules: (file) => compileRules(file.routes, config),
    limits: limits.compile,
    authenticate: tokenCheckFor,
    swapped: (next) => keys.retain(next.file.providers),
  }, opts.file)
  app.decorate('gatewayConfig', live)
  const allowedOrigins = [...config.gatewayPublicOrigins, ...config.corsOrigins]
  const dpop = createDpopCheck({
    redis: app.gatewayRedis,
    prefix: config.redisPrefix,
    windowS: config.dpopWindowS,
    publicOrigins: config.gatewayPublicOrigins,
  })
  const stages = orderStages({
    strip: stripStage,
    'request-limits': requestLimitsStage,
    'cors-preflight': createCorsPreflight(config.corsOrigins),
    'per-ip-limits': limits.perIp,
    authenticate: traceAuthenticate(config.tracing,
      authenticateStage(() => metrics.recordVerification('ok', 'none'), dpop)),
    authorize: authorizeStage,
    csrf: createCsrfStage({ secret: config.csrfSecret, allowedOrigins }),
    'per-user-limit': limits.perUser,
  })
  app.addHook('onRequest', createPipelineHook(stages, () => live.current, (request, session, denial) => {
    if (denial.reason !== 'role_missing') metrics.recordVerification('denied', denial.reason)
    const { method, url } = request
    request.log.info({ ruleId: session.rule?.id, reason: denial.reason, method, url }, 'request denied')
  }))
}, { name: 'gateway-pipeline', dependencies: ['gateway-redis', 'gateway-keys', 'gateway-revocations'] })
