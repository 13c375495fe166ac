/**
 * Failed-login throttling per account and client IP: each failure answers a little later
 * than the one before (progressive delay), LOGIN_MAX_FAILURES failures within
 * LOGIN_FAILURE_WINDOW → 429 until the window ends; a success resets the count. Per IP,
 * so an attacker elsewhere cannot lock the owner out, and always temporary.
 */
import { execOrThrow, type RedisClient } from './redis.js'

/** Delay of the answer to the n-th failed login (n ≥ 1): 100 ms doubling, at most 2 s. */
export const FAILURE_DELAY_BASE_MS = 100
export const FAILURE_DELAY_MAX_MS = 2000
export function failureDelayMs (failures: number): number {
  if (failures < 1) return 0
  return Math.min(FAILURE_DELAY_BASE_MS * 2 ** (failures - 1), FAILURE_DELAY_MAX_MS)
}

export interface LoginThrottle {
  /** Seconds to wait, or 0 when a login may be tried. */
  retryAfter: (email: string, ip: string) => Promise<number>
  /** Counts a failure; resolves with the failures counted in the window so far. */
  recordFailure: (email: string, ip: string) => Promise<number>
  reset: (email: string, ip: string) => Promise<void>
}

export function createLoginThrottle (redis: RedisClient, prefix: string, maxFailures: number,
  windowSeconds: number): LoginThrottle {
  const key = (email: string, ip: string) => `${prefix}login-fail:{${email}}:${ip}`
  const enabled = maxFailures > 0
  return {
    async retryAfter (email, ip) {
      if (!enabled) return 0
      const k = key(email, ip)
      const [count, pttl] = await Promise.all([redis.get(k), redis.pttl(k)])
      if (Number(count ?? 0) < maxFailures) return 0
      return Math.max(1, Math.ceil((pttl > 0 ? pttl : windowSeconds * 1000) / 1000))
    },
    async recordFailure (email, ip) {
      if (!enabled) return 0
      const k = key(email, ip)
      const results = await execOrThrow(redis.multi().incr(k).expire(k, windowSeconds, 'NX'))
      return Number(results[0]?.[1] ?? 0)
    },
    async reset (email, ip) {
      if (enabled) await redis.del(key(email, ip))
    },
  }
}
