/**
 * Key rotation, gateway side:
 * - Registry: once listening, the gateway keeps an entry (instance id, URL, kids held) in the
 *   Redis hash `${REDIS_PREFIX}gateways`, rewritten every GATEWAY_REGISTRY_INTERVAL with an
 *   expiry of three intervals, removed on close. `npm run keys -- rotate` finds gateways there
 *   and asks each (GET /readyz) whether it holds the next kid before promoting it.
 * - Keys channel: any message on `${REDIS_PREFIX}keys` (published by the keys CLI after rotate
 *   or prune) refetches the JWKS now, bypassing the unknown-kid cooldown but single-flight, and
 *   once more a second later for auth instances that reload slower. A refetch replaces the key
 *   map, so kids that left the JWKS (pruned) are dropped.
 */
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import { createSubscriber, type RedisClient } from '../../../services/kernel/redis.js'
import { KEYS_EVENTS } from '../../../auth-service/src/contract.js'
import { urlFor } from '../../../services/kernel/serve.js'
import { GATEWAY_REGISTRY, type GatewayRegistryEntry } from '../contract.js'

/** The Redis client and key store come from their plugins (app.gatewayRedis, app.gatewayKeys). */
export interface KeyRotationOptions {
  prefix: string
  /** 0: do not register (the keys channel is still followed). */
  registryIntervalMs: number
  /** URL others reach this gateway at; '' derives it from the listening address. */
  publicUrl: string
  /** Delay of the second refetch after a keys message. */
  followUpMs?: number
}

/** Re-reads the JWKS a second time after a keys message (an auth instance may reload later than the CLI published). */
const DEFAULT_FOLLOW_UP_MS = 1000

export function listeningUrl (address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') return ''
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address
  return urlFor(host, address.port)
}

export const keyRotation = fp(async function keyRotation (app, opts: KeyRotationOptions) {
  const redis = app.gatewayRedis
  const keys = app.gatewayKeys
  const id = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  const registryKey = GATEWAY_REGISTRY.key(opts.prefix)
  const channel = KEYS_EVENTS.channel(opts.prefix)
  let url = opts.publicUrl
  let heartbeat: NodeJS.Timeout | null = null
  let followUp: NodeJS.Timeout | null = null
  let subscriber: RedisClient | null = null
  let closing = false

  async function publishEntry (): Promise<void> {
    if (closing || url === '' || opts.registryIntervalMs <= 0) return
    const now = Date.now()
    const ttl = opts.registryIntervalMs * 3
    const kids = keys.heldKeys().map((k) => k.kid)
    const entry: GatewayRegistryEntry = { id, url, kids, updatedAt: now, expiresAt: now + ttl }
    // The hash expires with its freshest entry: when every gateway is gone, so is the registry.
    await redis.multi().hset(registryKey, id, JSON.stringify(entry)).pexpire(registryKey, ttl).exec()
  }
  const beat = () => {
    publishEntry().catch((err: Error) => app.log.debug({ err: err.message }, 'gateway registry update failed'))
  }

  async function onKeysChanged (): Promise<void> {
    const ok = await keys.refresh()
    app.log.info({ ok, kids: keys.heldKeys().map((k) => k.kid) }, 'keys changed: JWKS refetched')
    beat()
    if (followUp) clearTimeout(followUp)
    followUp = setTimeout(() => { keys.refresh().then(beat, () => {}) }, opts.followUpMs ?? DEFAULT_FOLLOW_UP_MS)
    followUp.unref()
  }

  app.addHook('onReady', async () => {
    subscriber = createSubscriber(redis)
    subscriber.on('error', () => {}) // reconnects on its own
    subscriber.on('message', (ch: string) => {
      if (ch === channel) onKeysChanged().catch(() => {})
    })
    subscriber.subscribe(channel)
      .catch((err: Error) => app.log.warn({ err: err.message }, 'keys channel subscribe failed'))
  })

  app.addHook('onListen', async () => {
    if (url === '') url = listeningUrl(app.server.address())
    if (opts.registryIntervalMs <= 0) return
    beat()
    heartbeat = setInterval(beat, opts.registryIntervalMs)
    heartbeat.unref()
  })

  // preClose: Redis is still connected (the Redis plugin disconnects it in onClose).
  app.addHook('preClose', async () => {
    closing = true
    if (heartbeat) clearInterval(heartbeat)
    if (followUp) clearTimeout(followUp)
    subscriber?.disconnect()
    subscriber = null
    if (opts.registryIntervalMs > 0 && url !== '') await redis.hdel(registryKey, id).catch(() => {})
  })
}, { name: 'gateway-key-rotation', dependencies: ['gateway-redis', 'gateway-keys'] })
