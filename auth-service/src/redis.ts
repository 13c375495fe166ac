/**
 * The Redis client of the auth service: fails fast when Redis is unreachable (no offline
 * queue, bounded retries, a command timeout), so requests get a 503 instead of hanging,
 * and keeps reconnecting in the background so the service recovers by itself.
 */
import { Redis } from 'ioredis'

export function createRedisClient (url: string, commandTimeout: number): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  })
  return redis
}

/** True for errors that mean "Redis is not reachable right now" (→ 503), not a bug. */
export function isRedisUnavailable (err: unknown, redis?: Redis): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'MaxRetriesPerRequestError') return true
  if (/enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|LOADING/.test(err.message)) return true
  return redis !== undefined && redis.status !== 'ready' && err.name !== 'ReplyError' && !('statusCode' in err)
}
