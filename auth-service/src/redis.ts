/**
 * The Redis client of the auth service: fails fast when Redis is unreachable (no offline
 * queue, bounded retries, a command timeout), so requests get a 503 instead of hanging,
 * and keeps reconnecting in the background so the service recovers by itself.
 */
import type { ChainableCommander, Redis } from 'ioredis'
import { createRedisClient as createClient, type RedisClient } from '../../services/kernel/redis.js'

export type { RedisClient }

/**
 * A plain Redis for `url`, or a Redis Cluster over `clusterNodes` (REDIS_CLUSTER_NODES) when
 * that is set. Every key used together shares a hash tag (`{<id>}`), so both work unchanged.
 */
export function createRedisClient (url: string, commandTimeout: number): Redis
export function createRedisClient (url: string, commandTimeout: number, clusterNodes: string | undefined): RedisClient
export function createRedisClient (url: string, commandTimeout: number, clusterNodes?: string): RedisClient {
  return createClient({
    url,
    clusterNodes,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  })
}

/** True for errors that mean "Redis is not reachable right now" (→ 503), not a bug. */
export function isRedisUnavailable (err: unknown, redis?: RedisClient): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'MaxRetriesPerRequestError') return true
  if (/enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|LOADING/.test(err.message)) return true
  // Cluster: no node reachable, slots being moved, or a failover in progress.
  if (err.name === 'ClusterAllFailedError' || /Failed to refresh slots cache|CLUSTERDOWN|TRYAGAIN|MASTERDOWN/.test(err.message)) return true
  return redis !== undefined && redis.status !== 'ready' && err.name !== 'ReplyError' && !('statusCode' in err)
}

/**
 * Runs a pipeline or MULTI, which reports per-command errors in its result: throws the first
 * one, else returns the results.
 */
export async function execOrThrow (pipeline: ChainableCommander): Promise<Array<[error: Error | null,
  result: unknown]>> {
  const results = await pipeline.exec()
  const failed = results?.find(([err]) => err)
  if (failed) throw failed[0]
  return results ?? []
}
