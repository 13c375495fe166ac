/**
 * Gateway configuration: parsed and validated once from the environment, pure (no I/O),
 * frozen. Every bad variable is reported in one ConfigError. Only server.ts calls it with
 * process.env; tests build a GatewayConfig directly (see `defaultConfig`).
 */
import { randomBytes } from 'node:crypto'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_REDIS_PREFIX } from '../../auth-service/src/contract.js'
import { DEFAULT_CLOCK_TOLERANCE_S } from './contract.js'
import { parseClusterNodes } from '../../services/kernel/redis.js'
import { ConfigError } from '../../services/kernel/env.js'

export { ConfigError }

export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 8080
export const DEFAULT_AUTH_URL = 'http://127.0.0.1:4000'
export const DEFAULT_ORDERS_URL = 'http://127.0.0.1:4101'
export const DEFAULT_USERS_URL = 'http://127.0.0.1:4102'
export const DEFAULT_PAYMENTS_URL = 'http://127.0.0.1:4103'
export const DEFAULT_WEB_URL = 'http://127.0.0.1:4104'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
export { DEFAULT_CLOCK_TOLERANCE_S }
export const DEFAULT_JWKS_REFRESH_INTERVAL_S = 300
export const DEFAULT_JWKS_COOLDOWN_S = 30
export const DEFAULT_JWKS_MAX_STALE_S = 3600
export const DEFAULT_JWKS_TIMEOUT_MS = 5000
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_TOKEN_BYTES = 8192
export const DEFAULT_REVOKED_USER_RETENTION_S = 86_400
export const DEFAULT_GATEWAY_REGISTRY_INTERVAL_S = 5
export const DEFAULT_RATE_LIMIT_AUTH = 30
export const DEFAULT_RATE_LIMIT_API = 600
export const DEFAULT_RATE_LIMIT_NOT_FOUND = 60
export const MIN_CSRF_SECRET_LENGTH = 32
// Performance (issue 6): verification path, verified-token cache, worker processes.
export const VERIFY_IMPLEMENTATIONS = ['fast', 'jose'] as const
export const DEFAULT_TOKEN_CACHE_MAX = 100_000
export const DEFAULT_TOKEN_CACHE_TTL_S = 60
export const DEFAULT_GATEWAY_WORKERS = 1
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface GatewayConfig {
  /** VERIFY_IMPLEMENTATION: 'fast' (node:crypto, pipeline/fast-verify.ts) or 'jose' (the reference). */
  verifyImplementation: typeof VERIFY_IMPLEMENTATIONS[number]
  /** TOKEN_CACHE_MAX verified tokens remembered (0: no cache). */
  tokenCacheMax: number
  /** TOKEN_CACHE_TTL: longest life of a cache entry (it never outlives the token's exp). */
  tokenCacheTtlMs: number
  /** GATEWAY_WORKERS: processes serving the port (node:cluster, cluster.ts); 1: no cluster. */
  workers: number
  host: string
  port: number
  authUrl: string
  ordersUrl: string
  usersUrl: string
  paymentsUrl: string
  webUrl: string
  jwksUrl: string
  issuer: string
  audience: string
  redisUrl: string
  redisPrefix: string
  /** REDIS_CLUSTER_NODES ('host:port,...'): when set, Redis Cluster instead of REDIS_URL. */
  redisClusterNodes?: string
  /** Seconds of clock skew accepted on exp/nbf/iat. */
  clockToleranceS: number
  jwksRefreshIntervalMs: number
  /** Minimum time between two unknown-kid refetches. */
  jwksCooldownMs: number
  /** How long cached keys stay usable after the last successful JWKS fetch. */
  jwksMaxStaleMs: number
  jwksTimeoutMs: number
  upstreamTimeoutMs: number
  maxTokenBytes: number
  /** How long a logout-all "not before" loaded from Redis is kept (the message carries its own). */
  revokedUserRetentionMs: number
  /** Shared with the auth service: CSRF tokens are HMAC(secret, sid) (browser/csrf.ts). */
  csrfSecret: string
  /** Origins the gateway itself is served at (CSRF Origin check). */
  gatewayPublicOrigins: string[]
  /** Other origins allowed to call with credentials (CORS, and the CSRF Origin check). */
  corsOrigins: string[]
  /** Requests per minute per client IP on POST /auth/login, /auth/register, /auth/refresh (each). */
  rateLimitAuth: number
  /** Requests per minute per user (token `sub`) on /api/*. */
  rateLimitApi: number
  /** Gateway 404s per minute per client IP. */
  rateLimitNotFound: number
  logLevel: LogLevel
  /** Addresses/CIDRs of proxies in front of the gateway; false: the gateway is the edge. */
  trustProxy: false | string[]
  /** How often this gateway rewrites its entry (URL, kids held) in the Redis gateway registry; 0: not registered. */
  gatewayRegistryIntervalMs: number
  /** URL the keys CLI reaches this gateway at; '' : derived from the listening address. */
  gatewayPublicUrl: string
}

type Env = Record<string, string | undefined>

export function loadConfig (env: Env): Readonly<GatewayConfig> {
  const problems: string[] = []
  const str = (name: string, fallback: string): string => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? fallback : v.trim()
  }
  const url = (name: string, fallback: string, protocols: string[]): string => {
    const raw = str(name, fallback)
    try {
      const u = new URL(raw)
      if (!protocols.includes(u.protocol)) problems.push(`${name} must be a ${protocols.join(' or ')} URL (got "${raw}")`)
      return raw.replace(/\/+$/, '')
    } catch {
      problems.push(`${name} must be a URL (got "${raw}")`)
      return fallback
    }
  }
  const num = (name: string, fallback: number, opts: { integer?: boolean, min?: number, max?: number } = {}): number => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return fallback
    const pattern = opts.integer ? /^\d+$/ : /^\d+(\.\d+)?$/
    const value = Number(raw.trim())
    if (!pattern.test(raw.trim()) || !Number.isFinite(value) ||
      (opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
      const range = `${opts.min ?? 0}..${opts.max ?? 'inf'}`
      problems.push(`${name} must be a ${opts.integer ? 'whole ' : ''}number in ${range} (got "${raw}")`)
      return fallback
    }
    return value
  }

  const clusterNodes = (raw: string | undefined): string | undefined => {
    if (raw === undefined || raw.trim() === '') return undefined
    try { parseClusterNodes(raw) } catch (err) { problems.push(`REDIS_CLUSTER_NODES: ${(err as Error).message}`) }
    return raw.trim()
  }

  const http = ['http:', 'https:']
  const authUrl = url('AUTH_URL', DEFAULT_AUTH_URL, http)
  const logLevel = str('LOG_LEVEL', 'info')
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`)
  }
  const trustRaw = str('TRUST_PROXY', '')
  const trustList = trustRaw.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
  for (const entry of trustList) {
    if (!/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(entry) && !['loopback', 'linklocal', 'uniquelocal'].includes(entry)) {
      problems.push(`TRUST_PROXY entries must be IP addresses or CIDRs (got "${entry}")`)
    }
  }

  const origins = (name: string, fallback: string): string[] => {
    const list = str(name, fallback).split(',').map((s) => s.trim()).filter((s) => s.length > 0)
    for (const entry of list) {
      let ok = false
      try { ok = ['http:', 'https:'].includes(new URL(entry).protocol) && new URL(entry).origin === entry } catch {}
      if (!ok) problems.push(`${name} entries must be origins like https://app.example.com (scheme://host[:port], no path, no '*') (got "${entry}")`)
    }
    return list
  }
  const port = num('GATEWAY_PORT', DEFAULT_PORT, { integer: true, min: 0, max: 65535 })
  const csrfSecret = str('CSRF_SECRET', '')
  if (csrfSecret.length < MIN_CSRF_SECRET_LENGTH) {
    problems.push(csrfSecret === ''
      ? 'CSRF_SECRET is required: the same value the auth service uses (keys/secrets.json "csrfSecret"; npm start passes it)'
      : `CSRF_SECRET must be at least ${MIN_CSRF_SECRET_LENGTH} characters`)
  }

  const verifyImplementation = str('VERIFY_IMPLEMENTATION', 'fast')
  if (!(VERIFY_IMPLEMENTATIONS as readonly string[]).includes(verifyImplementation)) {
    problems.push(`VERIFY_IMPLEMENTATION must be one of ${VERIFY_IMPLEMENTATIONS.join(', ')} (got "${verifyImplementation}")`)
  }

  const config: GatewayConfig = {
    verifyImplementation: verifyImplementation as GatewayConfig['verifyImplementation'],
    tokenCacheMax: num('TOKEN_CACHE_MAX', DEFAULT_TOKEN_CACHE_MAX, { integer: true, max: 10_000_000 }),
    tokenCacheTtlMs: 1000 * num('TOKEN_CACHE_TTL', DEFAULT_TOKEN_CACHE_TTL_S, { max: 3600 }),
    workers: num('GATEWAY_WORKERS', DEFAULT_GATEWAY_WORKERS, { integer: true, min: 1, max: 64 }),
    host: str('GATEWAY_HOST', DEFAULT_HOST),
    port,
    authUrl,
    ordersUrl: url('ORDERS_URL', DEFAULT_ORDERS_URL, http),
    usersUrl: url('USERS_URL', DEFAULT_USERS_URL, http),
    paymentsUrl: url('PAYMENTS_URL', DEFAULT_PAYMENTS_URL, http),
    webUrl: url('WEB_URL', DEFAULT_WEB_URL, http),
    jwksUrl: url('JWKS_URL', `${authUrl}/.well-known/jwks.json`, http),
    issuer: str('JWT_ISSUER', DEFAULT_ISSUER),
    audience: str('JWT_AUDIENCE', DEFAULT_AUDIENCE),
    redisUrl: url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']),
    redisPrefix: env.REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX,
    redisClusterNodes: clusterNodes(env.REDIS_CLUSTER_NODES),
    clockToleranceS: num('CLOCK_TOLERANCE', DEFAULT_CLOCK_TOLERANCE_S, { max: 300 }),
    jwksRefreshIntervalMs: 1000 * num('JWKS_REFRESH_INTERVAL', DEFAULT_JWKS_REFRESH_INTERVAL_S, { min: 0.1 }),
    jwksCooldownMs: 1000 * num('JWKS_COOLDOWN', DEFAULT_JWKS_COOLDOWN_S),
    jwksMaxStaleMs: 1000 * num('JWKS_MAX_STALE', DEFAULT_JWKS_MAX_STALE_S, { min: 0.1 }),
    jwksTimeoutMs: num('JWKS_TIMEOUT', DEFAULT_JWKS_TIMEOUT_MS, { integer: true, min: 1 }),
    upstreamTimeoutMs: num('UPSTREAM_TIMEOUT', DEFAULT_UPSTREAM_TIMEOUT_MS, { integer: true, min: 1 }),
    maxTokenBytes: num('MAX_TOKEN_BYTES', DEFAULT_MAX_TOKEN_BYTES, { integer: true, min: 256, max: 65536 }),
    revokedUserRetentionMs: 1000 * num('REVOKED_USER_RETENTION', DEFAULT_REVOKED_USER_RETENTION_S, { min: 1 }),
    csrfSecret,
    gatewayPublicOrigins: origins('GATEWAY_PUBLIC_ORIGINS', `http://127.0.0.1:${port},http://localhost:${port}`),
    corsOrigins: origins('CORS_ORIGINS', ''),
    rateLimitAuth: num('RATE_LIMIT_AUTH', DEFAULT_RATE_LIMIT_AUTH, { integer: true, min: 1 }),
    rateLimitApi: num('RATE_LIMIT_API', DEFAULT_RATE_LIMIT_API, { integer: true, min: 1 }),
    rateLimitNotFound: num('RATE_LIMIT_NOT_FOUND', DEFAULT_RATE_LIMIT_NOT_FOUND, { integer: true, min: 1 }),
    logLevel: logLevel as LogLevel,
    trustProxy: trustList.length > 0 ? trustList : false,
    gatewayRegistryIntervalMs: 1000 * num('GATEWAY_REGISTRY_INTERVAL', DEFAULT_GATEWAY_REGISTRY_INTERVAL_S, { max: 3600 }),
    gatewayPublicUrl: env.GATEWAY_PUBLIC_URL?.trim() ? url('GATEWAY_PUBLIC_URL', '', http) : '',
  }
  if (problems.length > 0) throw new ConfigError('gateway', problems)
  return Object.freeze(config)
}

/** The defaults, with overrides: for tests and tools that build a config without an env. */
export function defaultConfig (overrides: Partial<GatewayConfig> = {}): Readonly<GatewayConfig> {
  // A fresh random CSRF secret: tests read it back from the config.
  return Object.freeze({ ...loadConfig({ CSRF_SECRET: randomBytes(32).toString('base64url') }), ...overrides })
}
