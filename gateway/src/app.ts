/**
 * buildGateway(config, deps): the gateway as a Fastify instance, not listening. It only wires:
 * plugins and stages are registered here in the order they load.
 *
 * - Redis, the key store and the revocation store (plugins/), each closing itself
 * - the request pipeline (pipeline/index.ts: the numbered stages), then the response headers
 *   (response/) and the request log (ops/request-log.ts)
 * - the error handler (errors.ts), the gateway's own routes and 404 (ops/own-routes.ts), key
 *   rotation (keys/registry.ts), the identity assertion and its JWKS (identity-assertion/), and
 *   WebSockets and event streams that end with their token (live/), and the proxy's catch-all
 *   route (proxy.ts)
 * - the routes and the provider come from the gateway file, compiled (gateway-file/) into the
 *   configuration in force (active-config.ts), which the pipeline owns and a reload replaces
 *   (ops/reload.ts, when the caller passes `reload`)
 * - a hook or plugin registered after buildGateway loads after all of these
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { DestinationStream } from 'pino'
import { SERVER_ERROR_OPTIONS } from '../../services/kernel/http-errors.js'
import type { RedisClient } from '../../services/kernel/redis.js'
import { closeConnectionsWhenDone } from '../../services/kernel/shutdown.js'
import type { GatewayConfig } from './config.js'
import { errorHandler } from './errors.js'
import { identityAssertionPlugin } from './identity-assertion/index.js'
import type { KeyStore } from './keys/key-store.js'
import { keyRotation } from './keys/registry.js'
import { lazyChildLogger, loggerOptions } from './ops/logger.js'
import { createMetrics } from './ops/metrics.js'
import { ownRoutes } from './ops/own-routes.js'
import { genReqId, requestLog } from './ops/request-log.js'
import { pipeline } from './pipeline/index.js'
import { sweepWhileOpen, tokenCacheFor, type TokenCache } from './pipeline/token-cache.js'
import { createLiveConnections } from './live/connections.js'
import { liveListeners, livePlugin } from './live/index.js'
import { keysPlugin } from './plugins/keys.js'
import { redisPlugin } from './plugins/redis.js'
import { revocationsPlugin } from './plugins/revocations.js'
import { registerProxy } from './proxy.js'
import { reloadPlugin, type ReloadOptions } from './ops/reload.js'
import { responseHeaders } from './response/index.js'
import { localProvider, type GatewayFile } from './gateway-file/index.js'

export interface GatewayDeps {
  /** The compiled gateway file (GATEWAY_CONFIG, gateway-file/index.ts `loadGatewayFile`): routes and provider. */
  file: GatewayFile
  /** Follow the file at this path: reload it when it is replaced and on SIGHUP (ops/reload.ts). */
  reload?: ReloadOptions
  /** A Redis client without keyPrefix, closed by the caller; else one is made from config and closed on close. */
  redis?: RedisClient
  /** Where logs go (tests capture them); default stdout. */
  logStream?: DestinationStream
  keyStore?: KeyStore
  /** Verified-token cache; default one sized by TOKEN_CACHE_MAX / TOKEN_CACHE_TTL (none when either is 0). */
  tokenCache?: TokenCache
}

export function buildGateway (baseConfig: Readonly<GatewayConfig>, deps: GatewayDeps): FastifyInstance {
  const provider = localProvider(deps.file)
  // The file's provider is what tokens are checked against (its defaults follow JWKS_URL, JWT_ISSUER, JWT_AUDIENCE).
  const config: Readonly<GatewayConfig> = Object.freeze({
    ...baseConfig,
    jwksUrl: provider.jwksUrl!,
    issuer: provider.issuer,
    audience: provider.audience[0]!,
    clockToleranceS: provider.clockToleranceS ?? baseConfig.clockToleranceS,
  })
  const app = Fastify({
    ...SERVER_ERROR_OPTIONS, // the Host check is stage 2's
    logger: loggerOptions(config.logLevel, deps.logStream),
    logController: new LogController({ disableRequestLogging: true }), // ops/request-log.ts writes one line
    childLoggerFactory: lazyChildLogger,
    genReqId,
    requestIdHeader: false,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    keepAliveTimeout: 72_000,
    requestTimeout: 120_000,
  })
  const metrics = createMetrics()
  const live = createLiveConnections({ clockToleranceS: config.clockToleranceS, onClose: metrics.onLiveClose })
  const toLive = liveListeners(live, () => new Set(app.gatewayKeys.heldKeys().map((k) => k.kid)))
  const tokenCache = deps.tokenCache ?? tokenCacheFor(config)
  if (tokenCache) sweepWhileOpen(app, tokenCache)

  app.register(redisPlugin, { config, client: deps.redis })
  app.register(keysPlugin, {
    config,
    store: deps.keyStore,
    onFetch: (result) => { metrics.onJwksFetch(result); toLive.onJwksFetch(result) },
  })
  app.register(revocationsPlugin, { config, onMessage: (m) => { metrics.onRevocation(m); toLive.onRevocation(m) } })
  app.register(pipeline, { config, metrics, tokenCache, file: deps.file })
  app.register(identityAssertionPlugin, { config })
  app.register(responseHeaders, { corsOrigins: config.corsOrigins })
  app.register(requestLog, { metrics, batch: deps.logStream === undefined })
  app.setErrorHandler(errorHandler)
  app.register(ownRoutes, { metrics, tokenCache })
  if (deps.reload) app.register(reloadPlugin, { ...deps.reload, metrics })
  closeConnectionsWhenDone(app)
  app.register(keyRotation, {
    prefix: config.redisPrefix,
    registryIntervalMs: config.gatewayRegistryIntervalMs,
    publicUrl: config.gatewayPublicUrl,
  })
  app.register(livePlugin, { live, metrics })
  registerProxy(app, { connectTimeoutMs: config.upstreamTimeoutMs, live })
  return app
}
