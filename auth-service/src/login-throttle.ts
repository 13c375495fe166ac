/**
 * Failed-login throttling per account and client IP: LOGIN_MAX_FAILURES failures within
 * LOGIN_FAILURE_WINDOW → 429 until the window ends; a success resets the count. Per IP,
 * so an attacker elsewhere cannot lock the owner out.
 */
import type { Redis } from 'ioredis'

export interface LoginThrottle {
  /** Seconds to wait, or 0 when a login may be tried. */
  retryAfter: (email: string, ip: string) => Promise<number>
  recordFailure: (email: string, ip: string) => Promise<void>
  reset: (email: string, ip: string) => Promise<void>
}

export function createLoginThrottle (redis: Redis, prefix: string, maxFailures: number, windowSeconds: number): LoginThrottle {
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
      if (!enabled) return
      const k = key(email, ip)
      const results = await redis.multi().incr(k).expire(k, windowSeconds, 'NX').exec()
      const failed = results?.find(([err]) => err)
      if (failed) throw failed[0]
    },
    async reset (email, ip) {
      if (enabled) await redis.del(key(email, ip))
    },
  }
}
