/**
 * Auth service configuration, parsed and validated once from the environment.
 * - Pure: `loadConfig(env)` reads nothing else (kernel `envReader`), returns a frozen object.
 * - Every bad variable is reported at once, in one ConfigError.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_REDIS_PREFIX } from './contract.js'
import { DEFAULT_DPOP_WINDOW_S } from '../../services/kernel/dpop.js'
import { parseClusterNodes } from '../../services/kernel/redis.js'
import { ConfigError, envReader, type Env, type EnvReader } from '../../services/kernel/env.js'
import { readTracingConfig, type TracingConfig } from '../../services/kernel/tracing.js'

export { ConfigError }

export const DEFAULT_KEYS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../keys')
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 4000
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
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
export const SECRET_MIN_LENGTH = 32

const DAY = 24 * 3600
const SAME_SITE = ['Strict', 'Lax', 'None'] as const

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
  /** DPOP_PROOF_WINDOW: seconds either side of now a DPoP proof's iat may be. */
  dpopWindowS: number
  /** The OTEL_* variables: OTLP endpoint, exporter, sampler, service name (kernel tracing.ts). */
  tracing: Readonly<TracingConfig>
}

export function loadConfig (env: Env): Readonly<AuthConfig> {
  const r = envReader(env)
  const config: AuthConfig = {
    host: r.str('AUTH_HOST', DEFAULT_HOST),
    port: r.int('AUTH_PORT', DEFAULT_PORT, 0, 65535),
    logLevel: r.logLevel(),
    ...redisSettings(r),
    keysDir: resolve(r.str('KEYS_DIR', DEFAULT_KEYS_DIR)),
    keysReloadInterval: r.int('KEYS_RELOAD_INTERVAL', DEFAULT_KEYS_RELOAD_INTERVAL, 0, DAY),
    issuer: r.str('JWT_ISSUER', DEFAULT_ISSUER),
    audience: r.str('JWT_AUDIENCE', DEFAULT_AUDIENCE),
    accessTokenTtl: r.int('ACCESS_TOKEN_TTL', DEFAULT_ACCESS_TOKEN_TTL, 1, DAY),
    refreshTokenTtl: r.int('REFRESH_TOKEN_TTL', DEFAULT_REFRESH_TOKEN_TTL, 1, 365 * DAY),
    sessionMaxAge: r.int('SESSION_MAX_AGE', DEFAULT_SESSION_MAX_AGE, 1, 5 * 365 * DAY),
    refreshReuseGrace: r.int('REFRESH_REUSE_GRACE', DEFAULT_REFRESH_REUSE_GRACE, 0, 300),
    jwksMaxAge: r.int('JWKS_MAX_AGE', DEFAULT_JWKS_MAX_AGE, 0, DAY),
    refreshTokenSecret: secret(r, 'REFRESH_TOKEN_SECRET'),
    csrfSecret: secret(r, 'CSRF_SECRET'),
    cookieSameSite: r.oneOf('COOKIE_SAMESITE', 'Strict', SAME_SITE).toLowerCase() as SameSite,
    trustProxy: r.str('TRUST_PROXY', DEFAULT_TRUST_PROXY),
    loginMaxFailures: r.int('LOGIN_MAX_FAILURES', DEFAULT_LOGIN_MAX_FAILURES, 0, 1000),
    loginFailureWindow: r.int('LOGIN_FAILURE_WINDOW', DEFAULT_LOGIN_FAILURE_WINDOW, 1, DAY),
    dpopWindowS: r.int('DPOP_PROOF_WINDOW', DEFAULT_DPOP_WINDOW_S, 1, 600),
    tracing: readTracingConfig(r, 'auth-service'),
  }
  if (r.problems.length === 0 && config.refreshTokenTtl > config.sessionMaxAge) {
    const { refreshTokenTtl, sessionMaxAge } = config
    r.problems.push(`REFRESH_TOKEN_TTL (${refreshTokenTtl}) must not exceed SESSION_MAX_AGE (${sessionMaxAge})`)
  }
  r.done('auth service')
  return Object.freeze(config)
}

/** REDIS_URL, REDIS_PREFIX, REDIS_CLUSTER_NODES, REDIS_COMMAND_TIMEOUT (also read by the CLIs). */
export function redisSettings (r: EnvReader) {
  const redisUrl = r.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:'])
  const redisClusterNodes = r.optional('REDIS_CLUSTER_NODES')
  if (redisClusterNodes !== undefined) {
    try {
      parseClusterNodes(redisClusterNodes)
    } catch (err) {
      r.problems.push(`REDIS_CLUSTER_NODES: ${(err as Error).message}`)
    }
    const path = URL.canParse(redisUrl) ? new URL(redisUrl).pathname : ''
    if (!['', '/', '/0'].includes(path)) {
      r.problems.push('REDIS_URL must not select a database when REDIS_CLUSTER_NODES is set ' +
        '(a cluster has only database 0)')
    }
  }
  return {
    redisUrl,
    redisPrefix: r.str('REDIS_PREFIX', DEFAULT_REDIS_PREFIX),
    redisClusterNodes,
    redisCommandTimeout: r.int('REDIS_COMMAND_TIMEOUT', DEFAULT_REDIS_COMMAND_TIMEOUT, 50, 60_000),
  }
}

function secret (r: EnvReader, name: string): string | undefined {
  const value = r.optional(name)
  if (value !== undefined && value.length < SECRET_MIN_LENGTH) {
    r.problems.push(`${name} must be at least ${SECRET_MIN_LENGTH} characters (use 32 random bytes, base64url)`)
  }
  return value
}
