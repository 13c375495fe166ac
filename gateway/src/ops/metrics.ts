/**
 * Prometheus metrics of one gateway instance, in its own Registry (several gateways can live in
 * one process, as in tests).
 *
 * - made first (createMetrics): requests by route/method/status, verification outcomes by reason,
 *   JWKS fetches, revocation messages and their lag, live connections' closes and refused
 *   upgrades; the stores report through callbacks
 * - added once the stores exist (registerStoreGauges, ops/own-routes.ts): JWKS kids held and their
 *   age, revoked sessions held, readiness of the dependencies, the token cache
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ProviderKeysInUse } from '../active-config.js'
import type { KeyStore } from '../keys/key-store.js'
import type { RevocationStore } from '../revocation/revocation-store.js'
import type { TokenCache } from '../pipeline/token-cache.js'
import type { RevocationMessage } from '../../../auth-service/src/contract.js'
import { createRouteHistogram } from './route-histogram.js'
import { LIVE_KINDS, type CloseReason, type LiveConnections, type LiveKind } from '../live/connections.js'

export interface GatewayMetrics {
  registry: Registry
  /** One answered request (onResponse): counted here, read into the registry at scrape time. */
  recordRequest: (route: string, method: string, status: number, seconds: number) => void
  /** One access-token check: outcome 'ok' (reason 'none') or 'denied' with its reason. */
  recordVerification: (outcome: 'ok' | 'denied', reason: string) => void
  /** The key store's onFetch. */
  onJwksFetch: (result: 'ok' | 'error') => void
  /** The revocation store's onMessage: the message, and the lag since its `at` when it has one. */
  onRevocation: (message: RevocationMessage) => void
  /** A WebSocket or event stream ended (live/connections.ts). */
  onLiveClose: (kind: LiveKind, reason: CloseReason) => void
  /** A WebSocket upgrade answered over HTTP instead: the pipeline's refusal, or the upstream's. */
  onUpgradeRefused: (reason: string) => void
}

export interface StoreSources {
  keys: KeyStore
  revocations: RevocationStore
  /** The verified-token cache, when there is one (TOKEN_CACHE_MAX/TTL > 0): hits, misses, entries. */
  tokenCache?: TokenCache
  /** The providers of the configuration in force, with their key stores (the local one's is `keys`). */
  providers: () => readonly ProviderKeysInUse[]
}

export function createMetrics (): GatewayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' })
  // Counted in plain maps on the request path (no label hashing), read into prom-client at scrape time.
  const counts = new Map<string, Map<string, Map<number, number>>>()
  new Counter({ // eslint-disable-line no-new
    name: 'gateway_requests_total',
    help: 'Requests handled, by route id, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const [route, byMethod] of counts) {
        for (const [method, byStatus] of byMethod) {
          for (const [status, n] of byStatus) this.inc({ route, method, status: String(status) }, n)
        }
      }
    },
  })
  const durations = createRouteHistogram(registry, {
    name: 'gateway_request_duration_seconds',
    help: 'Time from request to response, by route id',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  })
  const verificationCounts = new Map<string, number>() // `${outcome} ${reason}`
  new Counter({ // eslint-disable-line no-new
    name: 'gateway_token_verifications_total',
    help: 'Access-token checks, by outcome (ok or denied) and reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const [key, n] of verificationCounts) {
        const [outcome, reason] = key.split(' ') as [string, string]
        this.inc({ outcome, reason }, n)
      }
    },
  })
  const jwksFetches = new Counter({
    name: 'gateway_jwks_fetches_total',
    help: 'JWKS fetch attempts, by result',
    labelNames: ['result'] as const,
    registers: [registry],
  })
  const revocationMessages = new Counter({
    name: 'gateway_revocation_messages_total',
    help: 'Revocation messages received on the pub/sub channel, by type (session, user)',
    labelNames: ['type'] as const,
    registers: [registry],
  })
  const revocationLag = new Histogram({
    name: 'gateway_revocation_lag_seconds',
    help: 'Time from a revocation at the auth service to its arrival at this gateway (messages with `at`)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  })
  const liveCloses = new Counter({
    name: 'gateway_live_connection_closes_total',
    help: 'WebSockets (kind websocket) and event streams (sse) ended, by reason',
    labelNames: ['kind', 'reason'] as const,
    registers: [registry],
  })
  const upgradeRefusals = new Counter({
    name: 'gateway_websocket_upgrade_refusals_total',
    help: 'WebSocket upgrades answered over HTTP instead, by reason (the error code, or the upstream)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  function recordRequest (route: string, method: string, status: number, seconds: number): void {
    let byMethod = counts.get(route)
    if (byMethod === undefined) counts.set(route, byMethod = new Map())
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
    durations.observe(route, seconds)
  }
  function recordVerification (outcome: 'ok' | 'denied', reason: string): void {
    const key = outcome === 'ok' ? 'ok none' : `denied ${reason}`
    verificationCounts.set(key, (verificationCounts.get(key) ?? 0) + 1)
  }
  return {
    registry,
    recordRequest,
    recordVerification,
    onJwksFetch: (result) => jwksFetches.inc({ result }),
    onRevocation (m) {
      revocationMessages.inc({ type: m.type })
      if (m.at !== undefined) revocationLag.observe(Math.max(0, Date.now() - m.at) / 1000)
    },
    onLiveClose: (kind, reason) => liveCloses.inc({ kind, reason }),
    onUpgradeRefused: (reason) => upgradeRefusals.inc({ reason }),
  }
}

/** Open WebSockets and event streams, read from the live registry at scrape time. */
export function registerLiveGauge (registry: Registry, live: LiveConnections): void {
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_live_connections',
    help: 'Open WebSockets (kind websocket) and event streams (sse) of this worker',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect () { for (const kind of LIVE_KINDS) this.set({ kind }, live.count(kind)) },
  })
}

/** Seconds since a key store's last successful JWKS fetch at `now`; -1: never. */
const jwksAge = (keys: KeyStore, now: number): number => {
  const at = keys.lastSuccessAt()
  return at === 0 ? -1 : (now - at) / 1000
}

/** The gauges read from the stores at scrape time. */
export function registerStoreGauges (registry: Registry, sources: StoreSources): void {
  const { keys, revocations } = sources
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_jwks_keys',
    help: 'Signing keys held (kids)',
    registers: [registry],
    collect () { this.set(keys.heldKeys().length) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_jwks_key_age_seconds',
    help: 'Time since the gateway first saw each kid',
    labelNames: ['kid'] as const,
    registers: [registry],
    collect () {
      this.reset()
      const now = Date.now()
      for (const k of keys.heldKeys()) this.set({ kid: k.kid }, (now - k.firstSeenAt) / 1000)
    },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_jwks_last_success_age_seconds',
    help: 'Time since the last successful JWKS fetch (-1: never)',
    registers: [registry],
    collect () { this.set(jwksAge(keys, Date.now())) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_provider_jwks_age_seconds',
    help: 'Time since the last successful JWKS fetch of each provider of the gateway file in force (-1: never)',
    labelNames: ['provider'] as const,
    registers: [registry],
    collect () {
      this.reset()
      const now = Date.now()
      for (const { id, keys } of sources.providers()) this.set({ provider: id }, jwksAge(keys, now))
    },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_revoked_sessions',
    help: 'Revoked sessions held in memory',
    registers: [registry],
    collect () { this.set(revocations.counts().sessions) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_revoked_users',
    help: 'Users with a logout-all "not before" held in memory',
    registers: [registry],
    collect () { this.set(revocations.counts().users) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_dependency_up',
    help: 'Readiness checks: keys (usable signing keys), redis (connected, revocations loaded); 1 up, 0 down',
    labelNames: ['dependency'] as const,
    registers: [registry],
    collect () {
      this.set({ dependency: 'keys' }, keys.isUsable() ? 1 : 0)
      this.set({ dependency: 'redis' }, revocations.isHealthy() ? 1 : 0)
    },
  })
  registerTokenCacheMetrics(registry, sources.tokenCache)
}

/** Read from the cache's own counters at scrape time; hit ratio = hits / (hits + misses). */
function registerTokenCacheMetrics (registry: Registry, cache: TokenCache | undefined): void {
  if (!cache) return
  const registers = [registry]
  new Counter({ // eslint-disable-line no-new
    name: 'gateway_token_cache_hits_total',
    help: 'Verified-token cache hits (signature check skipped; revocation still checked)',
    registers,
    collect () { this.reset(); this.inc(cache.stats().hits) },
  })
  new Counter({ // eslint-disable-line no-new
    name: 'gateway_token_cache_misses_total',
    help: 'Verified-token cache misses (full verification)',
    registers,
    collect () { this.reset(); this.inc(cache.stats().misses) },
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_token_cache_entries',
    help: 'Verified tokens held in the cache',
    registers,
    collect () { this.set(cache.size()) },
  })
}
