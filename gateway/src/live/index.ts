/**
 * Live connections as one plugin: upgrades routed through the pipeline (upgrades.ts), the
 * registry of open sockets and streams (connections.ts) fed by the revocation channel and the
 * key store, and every one of them ended (1001) before the server closes.
 *
 * - revocation messages end a session's or a user's connections as they arrive; a sweep
 *   every few seconds also ends any the revocation store holds as revoked (a message missed
 *   while Redis was away is in the sets the store reloads)
 * - a JWKS refetch without a connection's signing key ends it
 */
import fp from 'fastify-plugin'
import type { RevocationMessage } from '../../../auth-service/src/contract.js'
import type { GatewayMetrics } from '../ops/metrics.js'
import { registerLiveGauge } from '../ops/metrics.js'
import type { LiveConnections } from './connections.js'
import { routeUpgrades } from './upgrades.js'

export const REVOCATION_SWEEP_MS = 5_000

export interface LivePluginOptions {
  live: LiveConnections
  metrics: GatewayMetrics
}

/** What the revocation store and the key store report, for the registry (app.ts passes them on). */
export function liveListeners (live: LiveConnections, heldKids: () => ReadonlySet<string>) {
  return {
    onRevocation: (m: RevocationMessage): void => { live.revoke(m) },
    onJwksFetch: (result: 'ok' | 'error'): void => { if (result === 'ok') live.keysChanged(heldKids()) },
  }
}

export const livePlugin = fp(async function livePlugin (app, opts: LivePluginOptions) {
  const { live, metrics } = opts
  registerLiveGauge(metrics.registry, live)
  routeUpgrades(app, metrics.onUpgradeRefused)
  let sweep: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    sweep = setInterval(() => live.sweep(app.gatewayRevocations.isRevoked), REVOCATION_SWEEP_MS)
    sweep.unref()
  })
  app.addHook('preClose', (done) => {
    clearInterval(sweep)
    live.endAll('shutdown')
    done()
  })
}, { name: 'gateway-live', dependencies: ['gateway-revocations'] })
