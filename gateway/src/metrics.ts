/**
 * Prometheus metrics of one gateway instance (its own Registry, so several gateways can live
 * in one process, as in tests): requests by route/method/status, verification outcomes by
 * reason, JWKS kids held and their age, revoked sessions held.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { KeyStore } from './keys/key-store.js'
import type { RevocationStore } from './revocation/revocation-store.js'

export interface GatewayMetrics {
  registry: Registry
  requests: Counter<'route' | 'method' | 'status'>
  duration: Histogram<'route'>
  verifications: Counter<'outcome' | 'reason'>
  jwksFetches: Counter<'result'>
}

export function createMetrics (sources: { keys: () => KeyStore, revocations: () => RevocationStore }): GatewayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' })
  const requests = new Counter({
    name: 'gateway_requests_total',
    help: 'Requests handled, by route id, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: 'Time from request to response, by route id',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const verifications = new Counter({
    name: 'gateway_token_verifications_total',
    help: 'Access-token checks, by outcome (ok or denied) and reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  })
  const jwksFetches = new Counter({
    name: 'gateway_jwks_fetches_total',
    help: 'JWKS fetch attempts, by result',
    labelNames: ['result'] as const,
    registers: [registry],
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_jwks_keys',
    help: 'Signing keys held (kids)',
    registers: [registry],
    collect () { this.set(sources.keys().heldKeys().length) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_jwks_key_age_seconds',
    help: 'Time since the gateway first saw each kid',
    labelNames: ['kid'] as const,
    registers: [registry],
    collect () {
      this.reset()
      const now = Date.now()
      for (const k of sources.keys().heldKeys()) this.set({ kid: k.kid }, (now - k.firstSeenAt) / 1000)
    },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_jwks_last_success_age_seconds',
    help: 'Time since the last successful JWKS fetch (-1: never)',
    registers: [registry],
    collect () {
      const at = sources.keys().lastSuccessAt()
      this.set(at === 0 ? -1 : (Date.now() - at) / 1000)
    },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_revoked_sessions',
    help: 'Revoked sessions held in memory',
    registers: [registry],
    collect () { this.set(sources.revocations().counts().sessions) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_revoked_users',
    help: 'Users with a logout-all "not before" held in memory',
    registers: [registry],
    collect () { this.set(sources.revocations().counts().users) },
  })
  return { registry, requests, duration, verifications, jwksFetches }
}
