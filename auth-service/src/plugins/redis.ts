/**
 * The service's Redis connection as part of the app's lifecycle.
 * - An injected client is used as is and left open (its owner closes it).
 * - A client created here connects in the background (requests answer 503 until it does),
 *   warns at most every 5 s while Redis is unreachable, and is closed in onClose.
 */
import type { FastifyInstance } from 'fastify'
import type { AuthConfig } from '../config.js'
import { createRedisClient, type RedisClient } from '../redis.js'

const WARN_EVERY_MS = 5000

export function useRedis (app: FastifyInstance, config: Readonly<AuthConfig>, injected?: RedisClient): RedisClient {
  if (injected !== undefined) return injected
  const redis = createRedisClient(config.redisUrl, config.redisCommandTimeout, config.redisClusterNodes)
  let lastWarn = 0
  redis.on('error', (err: Error) => {
    if (Date.now() - lastWarn <= WARN_EVERY_MS) return
    lastWarn = Date.now()
    app.log.warn({ err: err.message }, 'redis connection problem')
  })
  redis.connect().catch(() => { /* keeps reconnecting; requests answer 503 meanwhile */ })
  app.addHook('onClose', async () => { redis.disconnect() })
  return redis
}
