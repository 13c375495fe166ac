/**
 * The revocation store (revocation/revocation-store.ts) as `app.gatewayRevocations`: loaded and
 * subscribed once the app is ready, unsubscribed on close (before the Redis plugin disconnects).
 */
import fp from 'fastify-plugin'
import type { RevocationMessage } from '../../../auth-service/src/contract.js'
import type { GatewayConfig } from '../config.js'
import { createRevocationStore, type RevocationStore } from '../revocation/revocation-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    gatewayRevocations: RevocationStore
  }
}

export interface RevocationsPluginOptions {
  config: Pick<GatewayConfig, 'redisPrefix' | 'revokedUserRetentionMs'>
  /** Every well-formed message from the channel, once applied (metrics). */
  onMessage?: (message: RevocationMessage) => void
}

export const revocationsPlugin = fp(async function revocationsPlugin (app, opts: RevocationsPluginOptions) {
  const revocations = createRevocationStore({
    redis: app.gatewayRedis,
    prefix: opts.config.redisPrefix,
    userRetentionMs: opts.config.revokedUserRetentionMs,
    log: app.log,
    onMessage: opts.onMessage,
  })
  app.decorate('gatewayRevocations', revocations)
  app.addHook('onReady', async () => { await revocations.start() })
  app.addHook('onClose', async () => { await revocations.stop() })
}, { name: 'gateway-revocations', dependencies: ['gateway-redis'] })
