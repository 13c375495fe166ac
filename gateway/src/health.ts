/**
 * The gateway's own routes: GET /healthz (alive), GET /readyz (keys loaded and fresh, Redis
 * reachable and revocations loaded; 503 otherwise), GET /metrics (Prometheus text), and the
 * JSON 404 for unknown paths under the API prefixes (they must not fall through to the SPA).
 */
import type { FastifyInstance } from 'fastify'
import type { KeyStore } from './keys/key-store.js'
import type { RevocationStore } from './revocation/revocation-store.js'
import type { GatewayMetrics } from './metrics.js'
import { NotFoundError } from './errors.js'
import { HTTP_METHODS, JSON_ONLY_PREFIXES } from './routes.js'

export interface HealthDeps {
  keys: KeyStore
  revocations: RevocationStore
  metrics: GatewayMetrics
}

export function registerGatewayRoutes (app: FastifyInstance, deps: HealthDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const checks = { keys: deps.keys.isUsable(), redis: deps.revocations.isHealthy() }
    const ready = checks.keys && checks.redis
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store')
    const missing = [
      checks.keys ? null : 'signing keys (JWKS never loaded, or older than JWKS_MAX_STALE)',
      checks.redis ? null : 'Redis (revocations not connected/loaded)',
    ].filter((m) => m !== null)
    return {
      status: ready ? 'ready' : 'not_ready',
      ...(ready ? {} : { error: 'service_unavailable', message: `Not ready: ${missing.join(', ')}` }),
      checks,
      kids: deps.keys.heldKeys().map((k) => ({ kid: k.kid, ageSeconds: Math.round((Date.now() - k.firstSeenAt) / 1000) })),
    }
  })

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType).header('cache-control', 'no-store')
    return await deps.metrics.registry.metrics()
  })

  for (const prefix of JSON_ONLY_PREFIXES) {
    for (const url of [prefix, `${prefix}/*`]) {
      app.route({
        method: [...HTTP_METHODS],
        url,
        handler: async (request) => { throw new NotFoundError(request.method, request.url.split('?')[0]) },
      })
    }
  }
}
