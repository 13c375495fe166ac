/**
 * Auth service configuration: parsed and validated once from the environment.
 * Pure: `loadConfig(env)` reads nothing else and reports every bad variable at once.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_REDIS_PREFIX } from './contract.js'
import { parseClusterNodes } from '../../services/kernel/redis.js'
import { ConfigError } from '../../services/kernel/env.js'

export { ConfigError }

export const DEFAULT_KEYS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../keys')
export const DEFAULT_PORT = 4000
export const DEFAULT_ACCESS_TOKEN_TTL = 900
export const DEFAULT_REFRESH_TOKEN_TTL = 7 * 24 * 3600
export const DEFAULT_SESSION_MAX_AGE = 30 * 24 * 3600
export const DEFAULT_REFRESH_REUSE_GRACE = 10
export const DEFAULT_JWKS_MAX_AGE = 300
export const DEFAULT_LOGIN_MAX_FAILURES = 5
export const DEFAULT_LOGIN_FAILURE_WINDOW = 900
export const DEFAULT_REDIS_COMMAND_TIMEOUT = 2000
export const DEFAULT_TRUST_PROXY = '127.0.0.1,::1'
export const DEFAULT_KEYS_RELOAD_INTERVAL = 30

export type SameSite = 'strict' | 'lax' | 'none'

export interface AuthConfig {
  host: string
  port: number
  logLevel: string
  redisUrl: string
  redisPrefix: string
  /** REDIS_CLUSTER_NODES ('host:port,...'): when set, Redis Cluster instead of REDIS_URL. */
  redisClusterNodes?: string
  /** ms; a Redis command that takes longer fails (→ 503) instead of hanging. */
  redisCommandTimeout: number
  keysDir: string
  /** Seconds between checks of the keys manifest for a rotation (0: never reload). */
  keysReloadInterval: number
  issuer: string
  audience: string
  /** Seconds. */
  accessTokenTtl: number
  refreshTokenTtl: number
  sessionMaxAge: number
  refreshReuseGrace: number
  jwksMaxAge: number
  /** Override secrets.json when set. */
  refreshTokenSecret?: string
  csrfSecret?: string
  cookieSameSite: SameSite
  trustProxy: string
  /** 0 disables login throttling. */
  loginMaxFailures: number
  /** Seconds a failed-login count lives. */
  loginFailureWindow: number
}

type Env = Record<string, string | undefined>

export function loadConfig (env: Env): Readonly<AuthConfig> {
  const problems: string[] = []
  const str = (name: string, fallback: string): string => {
    const v = env[name]
    if (v === undefined || v === '') return fallback
    return v
  }
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`)
      return fallback
    }
    return n
  }
  const secret = (name: string): string | undefined => {
    const v = env[name]
    if (v === undefined || v === '') return undefined
    if (v.length < 32) problems.push(`${name} must be at least 32 characters (use 32 random bytes, base64url)`)
    return v
  }

  const redisUrl = str('REDIS_URL', 'redis://127.0.0.1:6379')
  try {
    const u = new URL(redisUrl)
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') problems.push(`REDIS_URL must be a redis:// or rediss:// URL, got "${redisUrl}"`)
  } catch {
    problems.push(`REDIS_URL is not a URL: "${redisUrl}"`)
  }

  const redisClusterNodes = env.REDIS_CLUSTER_NODES?.trim() || undefined
  if (redisClusterNodes !== undefined) {
    try { parseClusterNodes(redisClusterNodes) } catch (err) { problems.push(`REDIS_CLUSTER_NODES: ${(err as Error).message}`) }
    if (!['', '/', '/0'].includes(URL.canParse(redisUrl) ? new URL(redisUrl).pathname : '')) problems.push('REDIS_URL must not select a database when REDIS_CLUSTER_NODES is set (a cluster has only database 0)')
  }

  const sameSiteRaw = str('COOKIE_SAMESITE', 'Strict').toLowerCase()
  let cookieSameSite: SameSite = 'strict'
  if (sameSiteRaw === 'strict' || sameSiteRaw === 'lax' || sameSiteRaw === 'none') cookieSameSite = sameSiteRaw
  else problems.push(`COOKIE_SAMESITE must be Strict, Lax or None, got "${env.COOKIE_SAMESITE}"`)

  const config: AuthConfig = {
    host: str('AUTH_HOST', '127.0.0.1'),
    port: int('AUTH_PORT', DEFAULT_PORT, 0, 65535),
    logLevel: str('LOG_LEVEL', 'info'),
    redisUrl,
    redisPrefix: str('REDIS_PREFIX', DEFAULT_REDIS_PREFIX),
    redisClusterNodes,
    redisCommandTimeout: int('REDIS_COMMAND_TIMEOUT', DEFAULT_REDIS_COMMAND_TIMEOUT, 50, 60_000),
    keysDir: resolve(str('KEYS_DIR', DEFAULT_KEYS_DIR)),
    keysReloadInterval: int('KEYS_RELOAD_INTERVAL', DEFAULT_KEYS_RELOAD_INTERVAL, 0, 24 * 3600),
    issuer: str('JWT_ISSUER', DEFAULT_ISSUER),
    audience: str('JWT_AUDIENCE', DEFAULT_AUDIENCE),
    accessTokenTtl: int('ACCESS_TOKEN_TTL', DEFAULT_ACCESS_TOKEN_TTL, 1, 24 * 3600),
    refreshTokenTtl: int('REFRESH_TOKEN_TTL', DEFAULT_REFRESH_TOKEN_TTL, 1, 365 * 24 * 3600),
    sessionMaxAge: int('SESSION_MAX_AGE', DEFAULT_SESSION_MAX_AGE, 1, 5 * 365 * 24 * 3600),
    refreshReuseGrace: int('REFRESH_REUSE_GRACE', DEFAULT_REFRESH_REUSE_GRACE, 0, 300),
    jwksMaxAge: int('JWKS_MAX_AGE', DEFAULT_JWKS_MAX_AGE, 0, 24 * 3600),
    refreshTokenSecret: secret('REFRESH_TOKEN_SECRET'),
    csrfSecret: secret('CSRF_SECRET'),
    cookieSameSite,
    trustProxy: str('TRUST_PROXY', DEFAULT_TRUST_PROXY),
    loginMaxFailures: int('LOGIN_MAX_FAILURES', DEFAULT_LOGIN_MAX_FAILURES, 0, 1000),
    loginFailureWindow: int('LOGIN_FAILURE_WINDOW', DEFAULT_LOGIN_FAILURE_WINDOW, 1, 24 * 3600),
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${config.logLevel}"`)
  }
  if (problems.length === 0 && config.refreshTokenTtl > config.sessionMaxAge) {
    problems.push(`REFRESH_TOKEN_TTL (${config.refreshTokenTtl}) must not exceed SESSION_MAX_AGE (${config.sessionMaxAge})`)
  }
  if (problems.length > 0) throw new ConfigError('auth service', problems)
  return Object.freeze(config)
}
