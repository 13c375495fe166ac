/**
 * Wires the auth service's metrics into the app: one onResponse hook (requests by route,
 * method and status; latency) and GET /metrics (Prometheus text). The gateway does not
 * proxy /metrics, so it is reachable only on the auth service's own address.
 */
import type { FastifyInstance } from 'fastify'
import type { Keyring } from './keys/keyring.js'
import { createAuthMetrics, type AuthMetrics } from './metrics.js'

export function registerMetrics (app: FastifyInstance, keyring: () => Keyring): AuthMetrics {
  const metrics = createAuthMetrics({ keyring })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'not_found'
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) })
    metrics.duration.observe({ route }, reply.elapsedTime / 1000)
  })
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType).header('cache-control', 'no-store')
    return await metrics.registry.metrics()
  })
  return metrics
}
