/**
 * Gateway configuration: parsed and validated once from the environment (the kernel's envReader).
 *
 * - pure (no I/O) and frozen; every bad variable is reported in one ConfigError
 * - only server.ts calls it with process.env; tests build a GatewayConfig with `defaultConfig`
 */
import { randomBytes } from 'node:crypto'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_REDIS_PREFIX } from '../../auth-service/src/contract.js'
import { DEFAULT_CLOCK_TOLERANCE_S, IDENTITY_ASSERTION } from './contract.js'
import { DEFAULT_DPOP_WINDOW_S } from '../../services/kernel/dpop.js'
import { parseClusterNodes } from '../../services/kernel/redis.js'
import { ConfigError, envReader, type Env, type LogLevel } from '../../services/kernel/env.js'
import { readTracingConfig, type TracingConfig } from '../../services/kernel/tracing.js'

export { ConfigError }

export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 8080
export const DEFAULT_AUTH_URL = 'http://127.0.0.1:4000'
export const DEFAULT_ORDERS_URL = 'http://127.0.0.1:4101'
export const DEFAULT_USERS_URL = 'http://127.0.0.1:4102'
export const DEFAULT_PAYMENTS_URL = 'http://127.0.0.1:4103'
export const DEFAULT_WEB_URL = 'http://127.0.0.1:4104'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
/** A Redis command unanswered this long fails (the auth service's default too). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000
export { DEFAULT_CLOCK_TOLERANCE_S }
export const DEFAULT_JWKS_REFRESH_INTERVAL_S = 300
export const DEFAULT_JWKS_COOLDOWN_S = 30
export const DEFAULT_JWKS_MAX_STALE_S = 3600
export const DEFAULT_JWKS_TIMEOUT_MS = 5000
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_TOKEN_BYTES = 8192
export const DEFAULT_REVOKED_USER_RETENTION_S = 86_400
export const DEFAULT_GATEWAY_REGISTRY_INTERVAL_S = 5
/** Seconds open connections are still served after SIGTERM (services/kernel/shutdown.ts). */
export const DEFAULT_SHUTDOWN_DRAIN_S = 1.5
export const DEFAULT_RATE_LIMIT_AUTH = 30
export const DEFAULT_RATE_LIMIT_API = 600
export const DEFAULT_RATE_LIMIT_NOT_FOUND = 60
export const MIN_CSRF_SECRET_LENGTH = 32
export const VERIFY_IMPLEMENTATIONS = ['fast', 'jose'] as const
export const DEFAULT_TOKEN_CACHE_MAX = 100_000
export const DEFAULT_TOKEN_CACHE_TTL_S = 60
export const DEFAULT_GATEWAY_WORKERS = 1
/** The gateway's own signing keys (identity assertions), next to the auth service's keys/. */
export const DEFAULT_GATEWAY_KEYS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../keys/gateway')
export const DEFAULT_IDENTITY_ASSERTION_TTL_S = IDENTITY_ASSERTION.maxTtlS
export const DEFAULT_IDENTITY_ASSERTION_CACHE_MAX = 100_000
export const DEFAULT_GATEWAY_KEYS_RELOAD_INTERVAL_S = 5

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
  /** REDIS_COMMAND_TIMEOUT (ms): a command unanswered this long fails instead of hanging its request. */
  redisCommandTimeoutMs: number
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
  /** Shared with the auth service: CSRF tokens are HMAC(secret, sid) (pipeline/csrf.ts). */
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
  /** How often this gateway rewrites its entry (URL, kids held) in the Redis registry; 0: not registered. */
  gatewayRegistryIntervalMs: number
  /** SHUTDOWN_DRAIN: after SIGTERM, how long requests on open connections are still answered. */
  shutdownDrainMs: number
  /** URL the keys CLI reaches this gateway at; '' : derived from the listening address. */
  gatewayPublicUrl: string
  /** DPOP_PROOF_WINDOW: seconds either side of now a DPoP proof's iat may be (the replay cache keeps 2x). */
  dpopWindowS: number
  /** GATEWAY_ISSUER: `iss` of the identity assertions (identity-assertion/). */
  gatewayIssuer: string
  /** GATEWAY_KEYS_DIR: the gateway's own key pair(s), created on first start when missing. */
  gatewayKeysDir: string
  /** GATEWAY_KEYS_RELOAD_INTERVAL: how often the key manifest is checked for a rotation (ms). */
  gatewayKeysReloadIntervalMs: number
  /** IDENTITY_ASSERTION_TTL: seconds an assertion lives (at most 60), renewed at half. */
  identityAssertionTtlS: number
  /** IDENTITY_ASSERTION_CACHE_MAX: signed assertions kept for reuse (0: sign on every request). */
  identityAssertionCacheMax: number
  /** The OTEL_* variables: OTLP endpoint, exporter, sampler, service name (kernel tracing.ts). */
  tracing: Readonly<TracingConfig>
}

const HTTP = ['http:', 'https:'] as const
const TRUST_PROXY_ENTRY = /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal']
const ORIGIN_SHAPE = 'origins like https://app.example.com (scheme://host[:port], no path, no \'*\')'

function isOrigin (entry: string): boolean {
  if (!URL.canParse(entry)) return false
  const u = new URL(entry)
  return (HTTP as readonly string[]).includes(u.protocol) && u.origin === entry
}

export function loadConfig (env: Env): Readonly<GatewayConfig> {
  const r = envReader(env)
  const { problems } = r
  const seconds = (name: string, fallback: number, max?: number, min?: number) =>
    1000 * r.num(name, fallback, { min, max })

  const clusterNodes = r.optional('REDIS_CLUSTER_NODES')
  if (clusterNodes !== undefined) {
    try {
      parseClusterNodes(clusterNodes)
    } catch (err) {
      problems.push(`REDIS_CLUSTER_NODES: ${(err as Error).message}`)
    }
  }
  const trustProxy = r.list('TRUST_PROXY', '')
  for (const entry of trustProxy) {
    if (!TRUST_PROXY_ENTRY.test(entry) && !TRUST_PROXY_NAMES.includes(entry)) {
      problems.push(`TRUST_PROXY entries must be IP addresses or CIDRs (got "${entry}")`)
    }
  }
  const origins = (name: string, fallback: string): string[] => {
    const list = r.list(name, fallback)
    for (const entry of list) {
      if (!isOrigin(entry)) problems.push(`${name} entries must be ${ORIGIN_SHAPE} (got "${entry}")`)
    }
    return list
  }
  const csrfSecret = r.str('CSRF_SECRET', '')
  if (csrfSecret === '') {
    problems.push('CSRF_SECRET is required: the same value the auth service uses ' +
      '(keys/secrets.json "csrfSecret"; npm start passes it)')
  } else if (csrfSecret.length < MIN_CSRF_SECRET_LENGTH) {
    problems.push(`CSRF_SECRET must be at least ${MIN_CSRF_SECRET_LENGTH} characters`)
  }

  const authUrl = r.url('AUTH_URL', DEFAULT_AUTH_URL, HTTP)
  const port = r.int('GATEWAY_PORT', DEFAULT_PORT, 0, 65535)
  const config: GatewayConfig = {
    verifyImplementation: r.oneOf('VERIFY_IMPLEMENTATION', 'fast', VERIFY_IMPLEMENTATIONS),
    tokenCacheMax: r.int('TOKEN_CACHE_MAX', DEFAULT_TOKEN_CACHE_MAX, 0, 10_000_000),
    tokenCacheTtlMs: seconds('TOKEN_CACHE_TTL', DEFAULT_TOKEN_CACHE_TTL_S, 3600),
    workers: r.int('GATEWAY_WORKERS', DEFAULT_GATEWAY_WORKERS, 1, 64),
    host: r.str('GATEWAY_HOST', DEFAULT_HOST),
    port,
    authUrl,
    ordersUrl: r.url('ORDERS_URL', DEFAULT_ORDERS_URL, HTTP),
    usersUrl: r.url('USERS_URL', DEFAULT_USERS_URL, HTTP),
    paymentsUrl: r.url('PAYMENTS_URL', DEFAULT_PAYMENTS_URL, HTTP),
    webUrl: r.url('WEB_URL', DEFAULT_WEB_URL, HTTP),
    jwksUrl: r.url('JWKS_URL', `${authUrl}/.well-known/jwks.json`, HTTP),
    issuer: r.str('JWT_ISSUER', DEFAULT_ISSUER),
    audience: r.str('JWT_AUDIENCE', DEFAULT_AUDIENCE),
    redisUrl: r.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']),
    // Not trimmed and may be empty: '' is a valid prefix (no namespace).
    redisPrefix: env.REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX,
    redisClusterNodes: clusterNodes,
    redisCommandTimeoutMs: r.int('REDIS_COMMAND_TIMEOUT', DEFAULT_REDIS_COMMAND_TIMEOUT_MS, 50, 60_000),
    clockToleranceS: r.num('CLOCK_TOLERANCE', DEFAULT_CLOCK_TOLERANCE_S, { max: 300 }),
    jwksRefreshIntervalMs: seconds('JWKS_REFRESH_INTERVAL', DEFAULT_JWKS_REFRESH_INTERVAL_S, undefined, 0.1),
    jwksCooldownMs: seconds('JWKS_COOLDOWN', DEFAULT_JWKS_COOLDOWN_S),
    jwksMaxStaleMs: seconds('JWKS_MAX_STALE', DEFAULT_JWKS_MAX_STALE_S, undefined, 0.1),
    jwksTimeoutMs: r.int('JWKS_TIMEOUT', DEFAULT_JWKS_TIMEOUT_MS, 1),
    upstreamTimeoutMs: r.int('UPSTREAM_TIMEOUT', DEFAULT_UPSTREAM_TIMEOUT_MS, 1),
    maxTokenBytes: r.int('MAX_TOKEN_BYTES', DEFAULT_MAX_TOKEN_BYTES, 256, 65536),
    revokedUserRetentionMs: seconds('REVOKED_USER_RETENTION', DEFAULT_REVOKED_USER_RETENTION_S, undefined, 1),
    csrfSecret,
    gatewayPublicOrigins: origins('GATEWAY_PUBLIC_ORIGINS', `http://127.0.0.1:${port},http://localhost:${port}`),
    corsOrigins: origins('CORS_ORIGINS', ''),
    rateLimitAuth: r.int('RATE_LIMIT_AUTH', DEFAULT_RATE_LIMIT_AUTH, 1),
    rateLimitApi: r.int('RATE_LIMIT_API', DEFAULT_RATE_LIMIT_API, 1),
    rateLimitNotFound: r.int('RATE_LIMIT_NOT_FOUND', DEFAULT_RATE_LIMIT_NOT_FOUND, 1),
    logLevel: r.logLevel(),
    trustProxy: trustProxy.length > 0 ? trustProxy : false,
    gatewayRegistryIntervalMs: seconds('GATEWAY_REGISTRY_INTERVAL', DEFAULT_GATEWAY_REGISTRY_INTERVAL_S, 3600),
    shutdownDrainMs: seconds('SHUTDOWN_DRAIN', DEFAULT_SHUTDOWN_DRAIN_S, 8),
    gatewayPublicUrl: r.optional('GATEWAY_PUBLIC_URL') === undefined ? '' : r.url('GATEWAY_PUBLIC_URL', '', HTTP),
    dpopWindowS: r.int('DPOP_PROOF_WINDOW', DEFAULT_DPOP_WINDOW_S, 1, 600),
    gatewayIssuer: r.str('GATEWAY_ISSUER', IDENTITY_ASSERTION.defaultIssuer),
    gatewayKeysDir: resolve(r.str('GATEWAY_KEYS_DIR', DEFAULT_GATEWAY_KEYS_DIR)),
    gatewayKeysReloadIntervalMs: seconds('GATEWAY_KEYS_RELOAD_INTERVAL', DEFAULT_GATEWAY_KEYS_RELOAD_INTERVAL_S,
      3600, 0.1),
    identityAssertionTtlS: r.int('IDENTITY_ASSERTION_TTL', DEFAULT_IDENTITY_ASSERTION_TTL_S, 1,
      IDENTITY_ASSERTION.maxTtlS),
    identityAssertionCacheMax: r.int('IDENTITY_ASSERTION_CACHE_MAX', DEFAULT_IDENTITY_ASSERTION_CACHE_MAX, 0,
      10_000_000),
    tracing: readTracingConfig(r, 'gateway'),
  }
  r.done('gateway')
  return Object.freeze(config)
}

/** What `npm run keys -- <command> --gateway` reads: the gateway's key directory and clock tolerance. */
export function loadGatewayKeysConfig (env: Env): { keysDir: string, clockToleranceS: number } {
  const r = envReader(env)
  const config = {
    keysDir: resolve(r.str('GATEWAY_KEYS_DIR', DEFAULT_GATEWAY_KEYS_DIR)),
    clockToleranceS: r.num('CLOCK_TOLERANCE', DEFAULT_CLOCK_TOLERANCE_S, { max: 300 }),
  }
  r.done('gateway keys CLI')
  return config
}

/** The defaults, with overrides: for tests and tools that build a config without an env. */
export function defaultConfig (overrides: Partial<GatewayConfig> = {}): Readonly<GatewayConfig> {
  // A fresh random CSRF secret: tests read it back from the config.
  return Object.freeze({ ...loadConfig({ CSRF_SECRET: randomBytes(32).toString('base64url') }), ...overrides })
}
