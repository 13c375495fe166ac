/**
 * Prometheus metrics of one auth service instance, and GET /metrics.
 * - Its own Registry, so several apps can live in one process (as in tests).
 * - Series: requests by route/method/status, latency, logins, refreshes, reuse detections,
 *   revocations, key rotations and the keys it publishes.
 * - /metrics is served on the service's own address only: the gateway does not proxy it.
 * @see https://github.com/siimon/prom-client
 */
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Keyring } from './keys/keyring.js'

export interface AuthMetrics {
  registry: Registry
  requests: Counter<'route' | 'method' | 'status'>
  duration: Histogram<'route'>
  logins: Counter<'result'>
  refreshes: Counter<'result'>
  reuseDetections: Counter
  revocations: Counter<'kind'>
  keyRotations: Counter
  adminActions: Counter<'action'>
}

export function createAuthMetrics (sources: { keyring: () => Keyring }): AuthMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'auth_' })
  const registers = [registry]
  const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers })
  const requests = counter('auth_requests_total',
    'Requests handled, by route, method and status code (429s are rate-limit refusals)', ['route', 'method', 'status'])
  const duration = new Histogram({
    name: 'auth_request_duration_seconds',
    help: 'Time from request to response, by route',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  })
  const logins = counter('auth_logins_total',
    'Login attempts, by result (success, failure, throttled, account_disabled)', ['result'])
  const refreshes = counter('auth_refreshes_total',
    'Refresh-token presentations, by result (rotated, invalid, reused)', ['result'])
  const reuseDetections = counter('auth_refresh_reuse_detected_total',
    'Rotated refresh tokens presented again (each revokes its session)')
  const revocations = counter('auth_revocations_total',
    'Revocation records written for gateways, by kind (session, user = logout-all)', ['kind'])
  const keyRotations = counter('auth_key_rotations_total', 'Keyring reloads that changed the active signing kid')
  const adminActions = counter('auth_admin_actions_total', 'Admin operations done, by action', ['action'])
  new Gauge({ // eslint-disable-line no-new
    name: 'auth_published_keys',
    help: 'Public keys served in the JWKS (next, active, retiring)',
    registers,
    collect () { this.set(sources.keyring().jwks.keys.length) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'auth_active_key_info',
    help: 'The kid that signs now (value 1)',
    labelNames: ['kid'] as const,
    registers,
    collect () {
      this.reset()
      this.set({ kid: sources.keyring().active.kid }, 1)
    },
  })
  return {
    registry, requests, duration, logins, refreshes, reuseDetections, revocations, keyRotations, adminActions,
  }
}

/** One onResponse hook (requests by route, method and status; latency) and GET /metrics. */
export function serveMetrics (app: FastifyInstance, metrics: AuthMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'not_found'
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) })
    metrics.duration.observe({ route }, reply.elapsedTime / 1000)
  })
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType).header('cache-control', 'no-store')
    return await metrics.registry.metrics()
  })
}
