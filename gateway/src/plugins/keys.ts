/**
 * The key store (keys/key-store.ts) as `app.gatewayKeys`: fetching starts once the app is
 * ready (readiness tells when keys are there) and stops on close.
 */
import fp from 'fastify-plugin'
import type { GatewayConfig } from '../config.js'
import { createKeyStore, type KeyStore } from '../keys/key-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    gatewayKeys: KeyStore
  }
}

type KeyConfig = Pick<GatewayConfig,
  'jwksUrl' | 'jwksRefreshIntervalMs' | 'jwksCooldownMs' | 'jwksMaxStaleMs' | 'jwksTimeoutMs'>

export interface KeysPluginOptions {
  config: KeyConfig
  /** A key store of the caller's (tests); started and stopped all the same. */
  store?: KeyStore
  /** After every JWKS fetch attempt (metrics). */
  onFetch?: (result: 'ok' | 'error') => void
}

export const keysPlugin = fp(async function keysPlugin (app, opts: KeysPluginOptions) {
  const { config } = opts
  const keys = opts.store ?? createKeyStore({
    jwksUrl: config.jwksUrl,
    refreshIntervalMs: config.jwksRefreshIntervalMs,
    cooldownMs: config.jwksCooldownMs,
    maxStaleMs: config.jwksMaxStaleMs,
    timeoutMs: config.jwksTimeoutMs,
    log: app.log,
    onFetch: opts.onFetch,
  })
  app.decorate('gatewayKeys', keys)
  app.addHook('onReady', async () => { keys.start() })
  app.addHook('onClose', async () => { keys.stop() })
}, { name: 'gateway-keys' })
