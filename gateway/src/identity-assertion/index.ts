/**
 * The identity assertion to upstreams (CONTRACT "Identity assertion to upstreams"), as a plugin:
 *
 * - loads the gateway's key set from GATEWAY_KEYS_DIR at start, creating it when missing
 *   (key-files.ts), and decorates `gatewayAssertions` (the signer, signer.ts)
 * - serves the public keys at GET /.well-known/gateway-jwks.json (an own route, never proxied)
 * - checks the manifest every GATEWAY_KEYS_RELOAD_INTERVAL: after `npm run keys -- rotate
 *   --gateway` the new key signs and the old one stays published until pruned
 * - `upstreamIdentity` is what the proxy sends per the route's `identity` setting: 'both' (the
 *   default), 'headers' (no assertion) or 'assertion' (no x-user-* / x-session-id headers)
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import fp from 'fastify-plugin'
import type { GatewayConfig } from '../config.js'
import { IDENTITY_ASSERTION, type Identity } from '../contract.js'
import type { GatewaySession } from '../pipeline/session.js'
import type { Rule } from '../rules.js'
import { loadGatewayKeys, MANIFEST_FILE, type GatewayKeySet } from './key-files.js'
import { createAssertionSigner, type AssertionSigner } from './signer.js'

declare module 'fastify' {
  interface FastifyInstance {
    gatewayAssertions: AssertionSigner
  }
}

export type IdentityAssertionConfig = Pick<GatewayConfig,
  'gatewayIssuer' | 'gatewayKeysDir' | 'gatewayKeysReloadIntervalMs' |
  'identityAssertionTtlS' | 'identityAssertionCacheMax'>

export interface UpstreamIdentity {
  /** For the x-user-* / x-session-id headers; null: none. */
  identity: Identity | null
  identityToken: string | undefined
}

const NONE: UpstreamIdentity = Object.freeze({ identity: null, identityToken: undefined })

export function upstreamIdentity (signer: AssertionSigner, rule: Rule, session: GatewaySession): UpstreamIdentity {
  const identity = session.identity
  if (identity === null) return NONE
  const mode = rule.identity
  return {
    identity: mode === 'assertion' ? null : identity,
    identityToken: mode === 'headers' ? undefined : signer.assertionFor(rule.id, identity, session.tokenExp),
  }
}

const manifestMtime = async (dir: string) => await stat(join(dir, MANIFEST_FILE)).then((s) => s.mtimeMs, () => 0)

export const identityAssertionPlugin = fp(async function identityAssertion (app, opts: {
  config: IdentityAssertionConfig
}) {
  const { config } = opts
  const dir = config.gatewayKeysDir
  let keySet: GatewayKeySet = await loadGatewayKeys(dir)
  let seen = await manifestMtime(dir)
  const signer = createAssertionSigner({
    issuer: config.gatewayIssuer,
    ttlS: config.identityAssertionTtlS,
    maxEntries: config.identityAssertionCacheMax,
    keys: keySet.active,
  })
  app.decorate('gatewayAssertions', signer)

  app.get(IDENTITY_ASSERTION.jwksPath, async (_request, reply) => {
    // Short: a service meeting an unknown kid refetches anyway (its cooldown permitting).
    reply.header('cache-control', 'public, max-age=60')
    return keySet.jwks
  })

  async function reloadIfChanged (): Promise<void> {
    const mtime = await manifestMtime(dir)
    if (mtime === seen) return
    keySet = await loadGatewayKeys(dir)
    seen = mtime
    signer.setKey(keySet.active)
    app.log.info({ kid: keySet.active.kid, published: keySet.jwks.keys.map((k) => k.kid) }, 'gateway keys reloaded')
  }
  let reloading: Promise<void> | null = null
  const timer = setInterval(() => {
    reloading ??= reloadIfChanged().catch((err: Error) => {
      app.log.warn({ err: err.message, dir }, 'gateway keys reload failed; the loaded keys stay')
    }).finally(() => { reloading = null })
  }, config.gatewayKeysReloadIntervalMs).unref()
  app.addHook('onClose', (_app, done) => { clearInterval(timer); done() })
}, { name: 'gateway-identity-assertion' })
