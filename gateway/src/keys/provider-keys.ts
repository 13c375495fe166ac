/**
 * The key stores of the gateway file's providers. The local provider (the one with
 * `revocation`, at start-up's JWKS URL) uses the keys plugin's store, which key rotation
 * (registry.ts) follows; every other provider gets a store of its own, made once per JWKS source
 * (URL or discovery issuer, and algorithms) and kept across reloads while a provider uses it.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { GatewayConfig } from '../config.js'
import type { ProviderSpec } from '../gateway-file/index.js'
import { createKeyStore, type KeyStore } from './key-store.js'

type KeyTimings = Pick<GatewayConfig, 'jwksRefreshIntervalMs' | 'jwksCooldownMs' | 'jwksMaxStaleMs' | 'jwksTimeoutMs'>

export interface ProviderKeys {
  storeFor: (spec: ProviderSpec) => KeyStore
  /** Starts every store (on ready) and the ones made later. */
  start: () => void
  /** Stops and forgets the stores none of `specs` uses (after a reload swapped them out). */
  retain: (specs: readonly ProviderSpec[]) => void
  stop: () => void
}

const sourceOf = (spec: ProviderSpec) =>
  `${spec.jwksUrl ?? `discovery:${spec.issuer}`} ${[...spec.algorithms].sort().join(',')}`

export function createProviderKeys (
  local: KeyStore, localJwksUrl: string, timings: KeyTimings, log: FastifyBaseLogger
): ProviderKeys {
  const stores = new Map<string, KeyStore>()
  let started = false
  const isLocal = (spec: ProviderSpec) => spec.revocation && spec.jwksUrl === localJwksUrl
  return {
    storeFor (spec) {
      if (isLocal(spec)) return local
      const source = sourceOf(spec)
      let store = stores.get(source)
      if (store === undefined) {
        store = createKeyStore({
          jwksUrl: spec.jwksUrl ?? '',
          ...(spec.discovery && { discoveryIssuer: spec.issuer }),
          algorithms: spec.algorithms,
          refreshIntervalMs: timings.jwksRefreshIntervalMs,
          cooldownMs: timings.jwksCooldownMs,
          maxStaleMs: timings.jwksMaxStaleMs,
          timeoutMs: timings.jwksTimeoutMs,
          log: log.child({ provider: spec.id }),
        })
        stores.set(source, store)
        if (started) store.start()
      }
      return store
    },
    start () {
      started = true
      for (const store of stores.values()) store.start()
    },
    retain (specs) {
      const used = new Set(specs.filter((s) => !isLocal(s)).map(sourceOf))
      for (const [source, store] of stores) {
        if (!used.has(source)) { store.stop(); stores.delete(source) }
      }
    },
    stop () {
      started = false
      for (const store of stores.values()) store.stop()
    },
  }
}
