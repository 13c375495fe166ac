/**
 * The auth service as a Fastify app: `buildAuthService(config, deps)` wires and never listens.
 * - Stores, keys and tokens are built once; each route plugin gets only what it uses.
 * - The flows live in sessions/ (use cases), the HTTP shape in routes/.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import cookie from '@fastify/cookie'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import { IDENTITY_HEADERS, REQUEST_ID_PATTERN } from '../../gateway/src/contract.js'
import { rejectMissingHost, SERVER_ERROR_OPTIONS } from '../../services/kernel/http-errors.js'
import { BODY_LIMIT } from '../../services/kernel/limits.js'
import { loggerOptions } from '../../services/kernel/logging.js'
import { closeConnectionsWhenDone } from '../../services/kernel/shutdown.js'
import { createAuthEvents, type AuthEvents } from './audit.js'
import { createProofCheck } from './dpop.js'
import type { AuthConfig } from './config.js'
import type { CookieSettings } from './cookies.js'
import { KEYS_EVENTS } from './contract.js'
import { holdKeyring, type KeyringHolder } from './keys/holder.js'
import { loadKeyring, type Keyring } from './keys/keyring.js'
import { watchKeyring } from './keys/watch.js'
import { createLoginThrottle } from './login-throttle.js'
import { createAuthMetrics, serveMetrics } from './metrics.js'
import { createDummyHash } from './passwords.js'
import { handleErrors } from './plugins/error-handler.js'
import { acceptJsonOnly } from './plugins/json-body.js'
import { useRedis } from './plugins/redis.js'
import type { RedisClient } from './redis.js'
import { createFamilies } from './refresh/families.js'
import { createRevocations } from './refresh/revocations.js'
import { adminRoutes } from './routes/admin.js'
import { authRoutes } from './routes/auth.js'
import { metaRoutes } from './routes/meta.js'
import { sessionRoutes } from './routes/sessions.js'
import { createAccessTokens } from './tokens/access-token.js'
import { createUsersStore } from './users/users-store.js'

export interface AuthDeps {
  /** A Redis client to use (not closed by the app); by default one is created from config.redisUrl. */
  redis?: RedisClient
  /** Keys to use (never reloaded); by default loaded (and initialised if absent) from config.keysDir. */
  keyring?: Keyring
  /** Logger options replacing the service's own (none: LOG_LEVEL, credentials redacted). */
  logger?: FastifyServerOptions['logger']
  /** Where the service's own logger writes (tests capture it); default stdout. */
  logStream?: DestinationStream
  /** The sessions' clock, ms epoch (tests move it); default Date.now. */
  now?: () => number
}

export async function buildAuthService (config: Readonly<AuthConfig>, deps: AuthDeps = {}): Promise<FastifyInstance> {
  const keys = holdKeyring(deps.keyring ?? await loadKeyring(config.keysDir))
  const refreshTokenSecret = config.refreshTokenSecret ?? keys.current.secrets.refreshTokenSecret
  const csrfSecret = config.csrfSecret ?? keys.current.secrets.csrfSecret
  const dummyHash = await createDummyHash()

  const app = Fastify(serverOptions(config, deps)).withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', rejectMissingHost)
  const redis = useRedis(app, config, deps.redis)
  const metrics = createAuthMetrics({ keyring: () => keys.current })
  const events = createAuthEvents(metrics)
  const { redisPrefix: prefix } = config
  const families = createFamilies(redis, { ...config, prefix, now: deps.now })
  const revocations = createRevocations(redis, {
    prefix, accessTokenTtl: config.accessTokenTtl, onRevocation: (kind, n) => metrics.revocations.inc({ kind }, n),
  })
  const users = createUsersStore(redis, prefix)
  const throttle = createLoginThrottle(redis, prefix, config.loginMaxFailures, config.loginFailureWindow)
  const tokens = createAccessTokens(keys,
    { issuer: config.issuer, audience: config.audience, ttl: config.accessTokenTtl })
  if (deps.keyring === undefined) followKeyRotations(app, config, redis, keys, events)

  serveMetrics(app, metrics)
  handleErrors(app, redis)
  acceptJsonOnly(app)
  closeConnectionsWhenDone(app)
  const cookies: CookieSettings = config
  const checkProof = createProofCheck({ redis, prefix, windowS: config.dpopWindowS })
  await app.register(cookie)
  await app.register(metaRoutes, { keys, redis, jwksMaxAge: config.jwksMaxAge })
  await app.register(authRoutes, {
    users,
    families,
    revocations,
    throttle,
    tokens,
    events,
    dummyHash,
    refreshTokenSecret,
    checkProof,
    reply: { cookies, csrfSecret, accessTokenTtl: config.accessTokenTtl },
  })
  await app.register(sessionRoutes, { families, revocations, tokens, events, csrfSecret, cookies, checkProof })
  await app.register(adminRoutes, { users, families, revocations, tokens, events, csrfSecret, checkProof })
  return app
}

function serverOptions (config: Readonly<AuthConfig>, deps: AuthDeps): FastifyServerOptions {
  return {
    ...SERVER_ERROR_OPTIONS,
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
  }
}

/** Reloads keys/ on a rotation (watch.ts); a new active kid is a `key_rotated` event. */
function followKeyRotations (
  app: FastifyInstance, config: Readonly<AuthConfig>, redis: RedisClient, keys: KeyringHolder, events: AuthEvents
): void {
  const onChange = (next: Keyring) => {
    const from = keys.current.active.kid
    if (next.active.kid !== from) {
      events.keyRotated(app.log, { from, to: next.active.kid, published: next.jwks.keys.map((k) => k.kid as string) })
    }
    keys.replace(next)
  }
  watchKeyring(app, config.keysDir, config.keysReloadInterval * 1000, onChange,
    { redis, channel: KEYS_EVENTS.channel(config.redisPrefix) })
}
