/**
 * What every keys command shares: its config and printers, one lazy Redis connection (for
 * the gateway registry and the keys channel), gateway discovery and the keys message.
 * - Redis not answering is reported once and is not fatal: no registry, no message.
 */
import { KEYS_EVENTS, type KeysChangedMessage } from '../../contract.js'
import { discoverGateways, type Discovery } from '../../keys/gateways.js'
import type { KeyEntry } from '../../keys/manifest.js'
import { createRedisClient, type RedisClient } from '../../redis.js'
import { safeUrl } from '../../../../services/kernel/logging.js'
import type { CliIo } from '../io.js'
import type { KeysCliConfig } from './config.js'

export interface KeysCommandContext {
  config: KeysCliConfig
  /** The keys directory (KEYS_DIR, resolved). */
  dir: string
  io: CliIo
  /** Every gateway found in the registry or GATEWAY_URLS, each asked which kids it holds. */
  discover: () => Promise<Discovery>
  /** Sends a KeysChangedMessage after `action`; `keys` is the manifest after it. */
  publish: (action: KeysChangedMessage['action'], keys: KeyEntry[]) => Promise<void>
  close: () => void
}

export function createKeysCommandContext (config: KeysCliConfig, io: CliIo): KeysCommandContext {
  let redis: RedisClient | null | undefined

  async function getRedis (): Promise<RedisClient | null> {
    if (redis !== undefined) return redis
    const client = createRedisClient(config.redisUrl, config.redisCommandTimeout, config.redisClusterNodes)
    client.on('error', () => {})
    try {
      await client.connect()
      redis = client
    } catch (err) {
      io.err(`note: Redis at ${safeUrl(config.redisUrl)} not reachable (${(err as Error).message}): ` +
        'no gateway registry, no keys message')
      client.disconnect()
      redis = null
    }
    return redis
  }

  return {
    config,
    dir: config.keysDir,
    io,
    discover: async () =>
      await discoverGateways({ redis: await getRedis(), prefix: config.redisPrefix, urls: config.gatewayUrls }),
    async publish (action, keys) {
      const client = await getRedis()
      const channel = KEYS_EVENTS.channel(config.redisPrefix)
      if (!client) {
        io.err('keys message not sent: gateways pick the change up within JWKS_REFRESH_INTERVAL, ' +
          'auth instances on their file watch or KEYS_RELOAD_INTERVAL')
        return
      }
      const message: KeysChangedMessage = {
        type: 'keys_changed',
        action,
        active: keys.find((k) => k.state === 'active')?.kid ?? '',
        published: keys.map((k) => k.kid),
        at: Date.now(),
      }
      const receivers = await client.publish(channel, JSON.stringify(message))
      io.out(`published keys_changed on ${channel} (${receivers} subscriber${receivers === 1 ? '' : 's'})`)
    },
    close () { if (redis) redis.disconnect() },
  }
}
