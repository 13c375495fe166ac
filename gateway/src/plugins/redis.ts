/**
 * The gateway's Redis client as `app.gatewayRedis` (revocations, rate limits, key rotation).
 *
 * - given one (tests, tools), the plugin uses it and leaves closing it to its owner
 * - else it makes one from REDIS_URL / REDIS_CLUSTER_NODES and disconnects it on close
 * - request-path commands fail fast: a cluster's offline queue ignores maxRetriesPerRequest and
 *   waits for the cluster without limit, so a rate limit would hang while it is down; a Redis
 *   that stops answering fails each command after REDIS_COMMAND_TIMEOUT
 */
import fp from 'fastify-plugin'
import { createRedisClient, type RedisClient } from '../../../services/kernel/redis.js'
import type { GatewayConfig } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    gatewayRedis: RedisClient
  }
}

export interface RedisPluginOptions {
  config: Pick<GatewayConfig, 'redisUrl' | 'redisClusterNodes' | 'redisCommandTimeoutMs'>
  /** A client without keyPrefix, owned by the caller. */
  client?: RedisClient
}

export const redisPlugin = fp(async function redisPlugin (app, opts: RedisPluginOptions) {
  if (opts.client) {
    app.decorate<RedisClient>('gatewayRedis', opts.client)
    return
  }
  const { redisUrl, redisClusterNodes, redisCommandTimeoutMs } = opts.config
  const redis = createRedisClient({
    url: redisUrl,
    clusterNodes: redisClusterNodes,
    commandTimeout: redisCommandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: redisClusterNodes === undefined ? undefined : false,
  })
  redis.on('error', (err) => app.log.debug({ err: err.message }, 'redis error'))
  app.decorate<RedisClient>('gatewayRedis', redis)
  app.addHook('onClose', async () => { redis.disconnect() })
}, { name: 'gateway-redis' })
