/**
 * The auth service as a Fastify app: `buildAuthService(config, deps)` wires keys, Redis
 * stores and routes, and never listens (server.ts does).
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import cookie from '@fastify/cookie'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import { IDENTITY_HEADERS, REQUEST_ID_PATTERN } from '../../gateway/src/contract.js'
import type { AuthConfig } from './config.js'
import type { AuthContext } from './context.js'
import { PUBLIC_CODES, publicCodeForStatus } from './errors.js'
import { loadKeyring, type Keyring } from './keys/keyring.js'
import { watchKeyring } from './keys/watch.js'
import { KEYS_EVENTS } from './contract.js'
import { createAuthEvents } from './audit.js'
import { registerMetrics } from './observability.js'
import { BODY_LIMIT } from '../../services/kernel/limits.js'
import { loggerOptions } from '../../services/kernel/logging.js'
import { closeConnectionsWhenClosing } from '../../services/kernel/shutdown.js'
import { createLoginThrottle } from './login-throttle.js'
import { createDummyHash } from './passwords.js'
import { createRedisClient, isRedisUnavailable, type RedisClient } from './redis.js'
import { createFamilies } from './refresh/families.js'
import { authRoutes } from './routes/auth.js'
import { metaRoutes } from './routes/meta.js'
import { sessionRoutes } from './routes/sessions.js'
import { createAccessTokenVerifier, signAccessToken } from './tokens/access-token.js'
import { createUsersStore } from './users/users-store.js'

export interface AuthDeps {
  /** A Redis client to use (not closed by the app); by default one is created from config.redisUrl. */
  redis?: RedisClient
  /** Keys to use; by default loaded (and initialised if absent) from config.keysDir. */
  keyring?: Keyring
  /** Logger options replacing the service's own (none: LOG_LEVEL, credentials redacted). */
  logger?: FastifyServerOptions['logger']
  /** Where the service's own logger writes (tests capture it); default stdout. */
  logStream?: DestinationStream
}

export async function buildAuthService (config: Readonly<AuthConfig>, deps: AuthDeps = {}): Promise<FastifyInstance> {
  const keyring = deps.keyring ?? await loadKeyring(config.keysDir)
  const secrets = {
    refreshTokenSecret: config.refreshTokenSecret ?? keyring.secrets.refreshTokenSecret,
    csrfSecret: config.csrfSecret ?? keyring.secrets.csrfSecret,
  }
  const ownRedis = deps.redis === undefined
  const redis = deps.redis ?? createRedisClient(config.redisUrl, config.redisCommandTimeout, config.redisClusterNodes)

  const app = Fastify({
    logger: deps.logger ?? loggerOptions(config.logLevel, deps.logStream),
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // Log correlation with the gateway: keep its x-request-id when well formed.
    genReqId: (req) => {
      const id = req.headers[IDENTITY_HEADERS.requestId]
      return typeof id === 'string' && REQUEST_ID_PATTERN.test(id) ? id : randomUUID()
    },
    // Closed schemas must reject unknown fields (400), not silently drop them; no coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  if (ownRedis) {
    let lastWarn = 0
    redis.on('error', (err) => {
      if (Date.now() - lastWarn > 5000) { lastWarn = Date.now(); app.log.warn({ err: err.message }, 'redis connection problem') }
    })
    redis.connect().catch(() => { /* keeps reconnecting; requests answer 503 meanwhile */ })
    app.addHook('onClose', async () => { redis.disconnect() })
  }

  const metrics = registerMetrics(app, () => ctx.keyring)
  const events = createAuthEvents(metrics)
  const ctx: AuthContext = {
    config,
    redis,
    users: createUsersStore(redis, config.redisPrefix),
    families: createFamilies(redis, { ...config, prefix: config.redisPrefix, refreshTokenSecret: secrets.refreshTokenSecret, onRevocation: (kind, n) => metrics.revocations.inc({ kind }, n) }),
    throttle: createLoginThrottle(redis, config.redisPrefix, config.loginMaxFailures, config.loginFailureWindow),
    keyring,
    secrets,
    dummyHash: await createDummyHash(),
    signAccessToken: (subject) => signAccessToken(ctx.keyring.active, { issuer: config.issuer, audience: config.audience, ttl: config.accessTokenTtl }, subject),
    verifyAccessToken: createAccessTokenVerifier(() => ctx.keyring.keySet, { issuer: config.issuer, audience: config.audience }),
    events,
  }
  if (deps.keyring === undefined) {
    watchKeyring(app, config.keysDir, config.keysReloadInterval * 1000, (next) => {
      if (next.active.kid !== ctx.keyring.active.kid) events.keyRotated(app.log, { from: ctx.keyring.active.kid, to: next.active.kid, published: next.jwks.keys.map((k) => k.kid as string) })
      ctx.keyring = next
    }, { redis, channel: KEYS_EVENTS.channel(config.redisPrefix) })
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    let status: number
    let code: string
    let message: string
    if (err.validation) {
      status = 400
      code = 'invalid_request'
      message = err.message
    } else if (err.code && PUBLIC_CODES[err.code]) {
      status = err.statusCode ?? 500
      code = PUBLIC_CODES[err.code]!
      message = err.message
    } else if (isRedisUnavailable(err, redis)) {
      status = 503
      code = 'service_unavailable'
      message = 'A backing store is unavailable; try again shortly'
      request.log.warn({ err: err.message }, 'redis unavailable')
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode
      code = publicCodeForStatus(status)
      message = err.message
    } else {
      status = 500
      code = 'internal_error'
      message = 'Internal server error'
      request.log.error({ err }, 'unhandled error')
    }
    if (code === 'invalid_token') reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${message.replaceAll('"', "'")}"`)
    if (status === 503) reply.header('retry-after', '1')
    reply.status(status).send({ error: code, message, statusCode: status })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found`, statusCode: 404 })
  })

  // JSON only: anything else is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain')
  // An empty JSON body (a browser's bodiless `fetch` with a JSON content type, e.g. a
  // cookie refresh) counts as no body; the schemas still decide what is required.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString()
    if (text === '') done(null, undefined)
    else parseJson(request, text, done)
  })
  closeConnectionsWhenClosing(app)
  await app.register(cookie)
  await app.register(metaRoutes, { ctx })
  await app.register(authRoutes, { ctx })
  await app.register(sessionRoutes, { ctx })
  return app
}
