/**
 * buildGateway(config, deps): the gateway as a Fastify instance, not listening.
 * Every request goes strip -> authenticate -> authorize -> write identity -> forward: one
 * root onRequest hook runs the first three and the browser checks (the route rule travels
 * in the route config), proxy.ts the last two.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import { createRedisClient, type RedisClient } from '../../services/kernel/redis.js'
import type { DestinationStream } from 'pino'
import type { GatewayConfig } from './config.js'
import { REQUEST_ID_PATTERN, type Identity } from './contract.js'
import { NotFoundError, insufficientScope, invalidToken, isDenial, toPublicError } from './errors.js'
import { registerGatewayRoutes } from './health.js'
import { closeConnectionsWhenClosing } from '../../services/kernel/shutdown.js'
import { createKeyStore, type KeyStore } from './keys/key-store.js'
import { registerKeyRotation } from './keys/registry.js'
import { createMetrics, observeRevocation } from './metrics.js'
import { createAuthenticator } from './pipeline/authenticate.js'
import { createTokenCache, type TokenCache } from './pipeline/token-cache.js'
import { authorizationHeaders } from './pipeline/credentials.js'
import { authorize } from './pipeline/authorize.js'
import { stripClientHeaders } from './pipeline/strip-headers.js'
import { registerProxies } from './proxy.js'
import { createRevocationStore } from './revocation/revocation-store.js'
import { defaultRoutes, validateRoutes, type RouteRule } from './routes.js'
import { loggerOptions } from './logger.js'
import { createCors } from './browser/cors.js'
import { createCsrfCheck } from './browser/csrf.js'
import { registerRateLimits } from './browser/rate-limit.js'
import { createSecurityHeaders } from '../../services/kernel/security-policy.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set only from a verified access token. */
    gatewayIdentity: Identity | null
    /** Where the verified access token came from (CSRF applies to 'cookie' only); null when none. */
    gatewayCredentialSource: 'header' | 'cookie' | null
    /** The client address the gateway saw (request.ip, read before forwarding headers are stripped). */
    gatewayClientIp: string
    /** request.protocol, read before x-forwarded-proto goes. */
    gatewayProtocol: string
    /** The metrics' route label: the rule id, else the route's URL pattern, else 'not_found'. */
    gatewayRoute: string
  }
  interface FastifyContextConfig {
    gatewayRule?: RouteRule
  }
}

export interface GatewayDeps {
  /** A Redis client without keyPrefix (tests pass their own); else one is made from config.redisUrl and closed on close. */
  redis?: RedisClient
  /** Route table; defaults to defaultRoutes(config). Validated at build time. */
  routes?: RouteRule[]
  /** Where logs go (tests capture them); default stdout. */
  logStream?: DestinationStream
  keyStore?: KeyStore
  /** Verified-token cache; default one sized by TOKEN_CACHE_MAX / TOKEN_CACHE_TTL (none when either is 0). */
  tokenCache?: TokenCache
}

function genReqId (req: IncomingMessage): string {
  // headersDistinct copies every header on first use: skip it when there is no id to keep.
  if (req.headers['x-request-id'] === undefined) return randomUUID()
  const ids = req.headersDistinct?.['x-request-id']
  const id = ids?.length === 1 ? ids[0] : undefined
  return id !== undefined && REQUEST_ID_PATTERN.test(id) ? id : randomUUID()
}

export function buildGateway (config: Readonly<GatewayConfig>, deps: GatewayDeps = {}): FastifyInstance {
  const rules = validateRoutes(deps.routes ?? defaultRoutes(config))
  const app = Fastify({
    logger: loggerOptions(config.logLevel, deps.logStream),
    logController: new LogController({ disableRequestLogging: true }), // app.ts writes one line per request
    genReqId,
    requestIdHeader: false,
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    return503OnClosing: true,
    keepAliveTimeout: 72_000,
    requestTimeout: 120_000,
  })

  const ownRedis = !deps.redis
  // REDIS_CLUSTER_NODES set: a Redis Cluster (revocation sets, channels and the registry work the same).
  // A cluster's offline queue ignores maxRetriesPerRequest and waits for the cluster without
  // limit, so a request-path command (rate limits) would hang while it is down: fail fast instead.
  const redis = deps.redis ?? createRedisClient({
    url: config.redisUrl,
    clusterNodes: config.redisClusterNodes,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: config.redisClusterNodes === undefined ? undefined : false,
  })
  if (ownRedis) redis.on('error', (err) => app.log.debug({ err: err.message }, 'redis error'))
  const metrics = createMetrics({ keys: () => keys, revocations: () => revocations, tokenCache: () => tokenCache })
  const keys = deps.keyStore ?? createKeyStore({
    jwksUrl: config.jwksUrl,
    refreshIntervalMs: config.jwksRefreshIntervalMs,
    cooldownMs: config.jwksCooldownMs,
    maxStaleMs: config.jwksMaxStaleMs,
    timeoutMs: config.jwksTimeoutMs,
    log: app.log,
    onFetch: (result) => metrics.jwksFetches.inc({ result }),
  })
  const revocations = createRevocationStore({
    redis,
    prefix: config.redisPrefix,
    userRetentionMs: config.revokedUserRetentionMs,
    log: app.log,
    onMessage: (m) => observeRevocation(metrics, m),
  })
  const tokenCache = deps.tokenCache ?? (config.tokenCacheMax > 0 && config.tokenCacheTtlMs > 0
    ? createTokenCache({ maxEntries: config.tokenCacheMax, ttlMs: config.tokenCacheTtlMs })
    : undefined)
  const authenticate = createAuthenticator({
    issuer: config.issuer,
    audience: config.audience,
    clockToleranceS: config.clockToleranceS,
    maxTokenBytes: config.maxTokenBytes,
    getKey: keys.getKey,
    isCurrentKey: keys.isCurrentKey,
    isRevoked: revocations.isRevoked,
    verifyImplementation: config.verifyImplementation,
    cache: tokenCache,
  })

  app.decorateRequest('gatewayIdentity', null)
  app.decorateRequest('gatewayCredentialSource', null)
  app.decorateRequest('gatewayClientIp', '')
  app.decorateRequest('gatewayProtocol', 'http')
  app.decorateRequest('gatewayRoute', 'not_found')

  const cors = createCors(config.corsOrigins)
  const csrf = createCsrfCheck({ secret: config.csrfSecret, allowedOrigins: [...config.gatewayPublicOrigins, ...config.corsOrigins] })
  const securityHeaders = createSecurityHeaders()
  const limits = registerRateLimits(app, {
    redis,
    prefix: config.redisPrefix,
    authPerMinute: config.rateLimitAuth,
    apiPerMinute: config.rateLimitApi,
    notFoundPerMinute: config.rateLimitNotFound,
  })

  // The request pipeline, one hook: strip -> CORS preflight -> per-IP limits -> authenticate
  // -> authorize -> CSRF -> per-user limit. Each stage is a function of its own module; one
  // hook instead of one per stage, and an await only where a stage really waits (a cache
  // miss, a Redis-counted limit).
  app.addHook('onRequest', async (request, reply) => {
    // Stage 1, strip: before anything reads a header. The client address and protocol are
    // read first (forwarding headers count only when TRUST_PROXY trusts the peer).
    request.gatewayClientIp = request.ip
    request.gatewayProtocol = request.protocol
    const headers = request.raw.headers
    stripClientHeaders(headers)
    // routeOptions is a new object on every read: read once, for this hook and onResponse.
    const { config: routeConfig, url: routeUrl } = request.routeOptions
    const rule = routeConfig?.gatewayRule
    request.gatewayRoute = rule?.id ?? routeUrl ?? 'not_found'
    const origin = typeof headers.origin === 'string' ? headers.origin : undefined
    if (cors.preflight(request.method, origin, reply)) return
    const perIp = limits.auth(request, reply, rule) ?? limits.notFound(request, reply, rule, routeUrl)
    if (perIp !== undefined) await perIp
    if (!rule) return
    if (rule.auth === 'required') {
      // Stages 2 and 3, authenticate and authorize.
      try {
        let result = authenticate({
          authorization: headers.authorization === undefined ? undefined : authorizationHeaders(request.raw.rawHeaders),
          cookie: headers.cookie,
        })
        if (result instanceof Promise) result = await result
        if (!result) throw invalidToken('missing_token', 'access token required')
        metrics.recordVerification('ok', 'none')
        const decision = authorize(result.identity, rule, request.method)
        if (!decision.allowed) throw insufficientScope(`requires one of the roles: ${decision.required.join(', ')}`)
        request.gatewayIdentity = result.identity
        request.gatewayCredentialSource = result.source
      } catch (err) {
        if (isDenial(err)) {
          if (err.reason !== 'role_missing') metrics.recordVerification('denied', err.reason)
          request.log.info({ ruleId: rule.id, reason: err.reason, method: request.method, url: request.url }, 'request denied')
        }
        throw err
      }
    }
    csrf(request, rule)
    const perUser = limits.api(request, reply, rule)
    if (perUser !== undefined) await perUser
  })

  // Every answer, refusals too, over whatever the upstream sent: the request id, the
  // security headers, CORS.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    securityHeaders(reply, request.gatewayProtocol === 'https')
    const origin = request.headers.origin
    cors.headers(typeof origin === 'string' ? origin : undefined, reply)
    done(null, payload)
  })

  app.addHook('onResponse', (request, reply, done) => {
    metrics.recordRequest(request.gatewayRoute, request.method, reply.statusCode, reply.elapsedTime / 1000)
    request.log.info({ method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: Math.round(reply.elapsedTime) }, 'request completed')
    done()
  })

  app.setErrorHandler((err, request, reply) => {
    const { statusCode, body } = toPublicError(err as { code?: string, statusCode?: number, message?: string })
    if (statusCode === 500) request.log.error({ err }, 'request failed')
    else if (statusCode >= 502) request.log.warn({ code: (err as { code?: string }).code, cause: ((err as Error).cause as Error | undefined)?.message }, 'request failed')
    const description = body.message.replace(/["\\]/g, '')
    if (statusCode === 401) reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${description}"`)
    if (body.error === 'insufficient_scope') reply.header('www-authenticate', `Bearer error="insufficient_scope", error_description="${description}"`)
    if (body.error === 'service_unavailable') reply.header('retry-after', '5')
    reply.code(statusCode).type('application/json; charset=utf-8').send(body)
  })

  app.setNotFoundHandler(async (request) => {
    throw new NotFoundError(request.method, request.url.split('?')[0])
  })

  registerGatewayRoutes(app, { keys, revocations, metrics })
  closeConnectionsWhenClosing(app)
  registerKeyRotation(app, { redis, prefix: config.redisPrefix, keys, registryIntervalMs: config.gatewayRegistryIntervalMs, publicUrl: config.gatewayPublicUrl })
  registerProxies(app, rules, { upstreamTimeoutMs: config.upstreamTimeoutMs })

  app.addHook('onReady', async () => {
    keys.start()
    await revocations.start()
  })
  app.addHook('onClose', async () => {
    keys.stop()
    await revocations.stop()
    if (ownRedis) redis.disconnect()
  })
  return app
}
