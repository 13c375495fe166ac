/**
 * The gateway's own routes, and the JSON 404.
 *
 * - GET /healthz: alive
 * - GET /readyz: keys loaded and fresh (the local ones, and every provider's: `checks.providers`),
 *   Redis reachable and revocations loaded; 503 otherwise;
 *   and the version (hash) of the gateway file in force, with when it was applied
 * - GET /metrics: Prometheus text, with the stores' gauges registered here
 * - the JSON 404: anything no rule takes, the gateway file's notFoundPrefixes included (the
 *   route table, route-table.ts, decides); stage 4 (pipeline/index.ts) limits these per IP
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { notFoundHandler } from '../errors.js'
import type { TokenCache } from '../pipeline/token-cache.js'
import { registerStoreGauges, type GatewayMetrics } from './metrics.js'

export interface OwnRoutesOptions {
  metrics: GatewayMetrics
  tokenCache: TokenCache | undefined
}

function readiness (app: FastifyInstance) {
  const keys = app.gatewayKeys
  const live = app.gatewayConfig
  const providers = Object.fromEntries(live.current.providers.map((p) => [p.id, p.keys.isUsable()]))
  const checks = { keys: keys.isUsable(), redis: app.gatewayRevocations.isHealthy(), providers }
  const down = Object.entries(providers).filter(([, usable]) => !usable).map(([id]) => id)
  const ready = checks.keys && checks.redis && down.length === 0
  const missing = [
    checks.keys ? null : 'signing keys (JWKS never loaded, or older than JWKS_MAX_STALE)',
    checks.redis ? null : 'Redis (revocations not connected/loaded)',
    down.length === 0 ? null : `keys of providers ${down.join(', ')}`,
  ].filter((m) => m !== null)
  const now = Date.now()
  return {
    ready,
    body: {
      status: ready ? 'ready' : 'not_ready',
      ...(ready ? {} : { error: 'service_unavailable', message: `Not ready: ${missing.join(', ')}` }),
      checks,
      kids: keys.heldKeys().map((k) => ({ kid: k.kid, ageSeconds: Math.round((now - k.firstSeenAt) / 1000) })),
      config: { version: live.current.version, appliedAt: new Date(live.appliedAt).toISOString() },
    },
  }
}

export const ownRoutes = fp(async function ownRoutes (app, opts: OwnRoutesOptions) {
  const { registry } = opts.metrics
  const live = app.gatewayConfig
  const stores = {
    keys: app.gatewayKeys,
    revocations: app.gatewayRevocations,
    tokenCache: opts.tokenCache,
    providers: () => live.current.providers,
  }
  registerStoreGauges(registry, stores)

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const { ready, body } = readiness(app)
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store')
    return body
  })

  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType).header('cache-control', 'no-store')
    return await registry.metrics()
  })

  app.setNotFoundHandler(notFoundHandler)
}, { name: 'gateway-own-routes', dependencies: ['gateway-keys', 'gateway-revocations', 'gateway-pipeline'] })
