import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

// CSRF_SECRET is required (pipeline/csrf.ts).
const SECRET = { CSRF_SECRET: 'x'.repeat(32) }

t.test('loadConfig', async (t) => {
  t.test('defaults from an empty environment', async (t) => {
    const c = loadConfig({ ...SECRET })
    t.match(c, {
      host: '127.0.0.1',
      port: 8080,
      authUrl: 'http://127.0.0.1:4000',
      ordersUrl: 'http://127.0.0.1:4101',
      usersUrl: 'http://127.0.0.1:4102',
      paymentsUrl: 'http://127.0.0.1:4103',
      webUrl: 'http://127.0.0.1:4104',
      jwksUrl: 'http://127.0.0.1:4000/.well-known/jwks.json',
      issuer: 'urn:jwt-edge:auth',
      audience: 'urn:jwt-edge:api',
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'jwt-edge:',
      clockToleranceS: 5,
      jwksRefreshIntervalMs: 300_000,
      jwksCooldownMs: 30_000,
      jwksMaxStaleMs: 3_600_000,
      upstreamTimeoutMs: 10_000,
      maxTokenBytes: 8192,
      logLevel: 'info',
      trustProxy: false,
    })
    t.ok(Object.isFrozen(c), 'frozen')
  })

  t.test('JWKS_URL follows AUTH_URL unless set', async (t) => {
    t.equal(
      loadConfig({ ...SECRET, AUTH_URL: 'http://auth.internal:9000/' }).jwksUrl,
      'http://auth.internal:9000/.well-known/jwks.json'
    )
    t.equal(loadConfig({ ...SECRET, AUTH_URL: 'http://a:1', JWKS_URL: 'http://k:2/keys' }).jwksUrl, 'http://k:2/keys')
  })

  t.test('seconds become milliseconds, fractions allowed', async (t) => {
    const c = loadConfig(
      { ...SECRET, JWKS_COOLDOWN: '0.5', JWKS_MAX_STALE: '2', JWKS_REFRESH_INTERVAL: '10', UPSTREAM_TIMEOUT: '250' }
    )
    t.equal(c.jwksCooldownMs, 500)
    t.equal(c.jwksMaxStaleMs, 2000)
    t.equal(c.jwksRefreshIntervalMs, 10_000)
    t.equal(c.upstreamTimeoutMs, 250, 'UPSTREAM_TIMEOUT is already ms')
  })

  t.test('TRUST_PROXY is a list of addresses', async (t) => {
    t.same(loadConfig({ ...SECRET, TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }).trustProxy, ['127.0.0.1', '10.0.0.0/8'])
  })

  t.test('every bad variable is reported at once', async (t) => {
    const err = t.throws(() => loadConfig({
      GATEWAY_PORT: 'eighty',
      AUTH_URL: 'not a url',
      ORDERS_URL: 'ftp://x',
      REDIS_URL: 'http://127.0.0.1:6379',
      CLOCK_TOLERANCE: '-1',
      MAX_TOKEN_BYTES: '10',
      UPSTREAM_TIMEOUT: '1.5',
      LOG_LEVEL: 'loud',
      TRUST_PROXY: 'everyone',
      ...SECRET,
    })) as ConfigError
    t.type(err, ConfigError)
    t.equal(err.problems.length, 9)
    for (
      const name of [
        'GATEWAY_PORT',
        'AUTH_URL',
        'ORDERS_URL',
        'REDIS_URL',
        'CLOCK_TOLERANCE',
        'MAX_TOKEN_BYTES',
        'UPSTREAM_TIMEOUT',
        'LOG_LEVEL',
        'TRUST_PROXY',
      ]
    ) {
      t.ok(err.problems.some((p) => p.startsWith(name)), `${name} reported`)
    }
  })
})

t.test('SHUTDOWN_DRAIN: seconds of drain after SIGTERM, default 1.5, at most 8 (inside the 10 s limit)', async (t) => {
  t.equal(loadConfig(SECRET).shutdownDrainMs, 1500)
  t.equal(loadConfig({ ...SECRET, SHUTDOWN_DRAIN: '3' }).shutdownDrainMs, 3000)
  t.equal(loadConfig({ ...SECRET, SHUTDOWN_DRAIN: '0' }).shutdownDrainMs, 0, '0: no drain')
  const err = t.throws(() => loadConfig({ ...SECRET, SHUTDOWN_DRAIN: '9' })) as ConfigError
  t.match(err.problems, [/^SHUTDOWN_DRAIN must be a number in 0\.\.8/])
})

t.test('identity assertion settings: GATEWAY_ISSUER, GATEWAY_KEYS_DIR, IDENTITY_ASSERTION_TTL (1-60 s)', async (t) => {
  const env = { CSRF_SECRET: 'x'.repeat(32) }
  const d = loadConfig(env)
  t.equal(d.gatewayIssuer, 'urn:jwt-edge:gateway')
  t.match(d.gatewayKeysDir, /keys\/gateway$/)
  t.equal(d.identityAssertionTtlS, 60)
  t.equal(d.identityAssertionCacheMax, 100_000)
  const c = loadConfig({
    ...env,
    GATEWAY_ISSUER: 'urn:acme:gw',
    GATEWAY_KEYS_DIR: '/tmp/gw',
    IDENTITY_ASSERTION_TTL: '20',
    IDENTITY_ASSERTION_CACHE_MAX: '0',
    GATEWAY_KEYS_RELOAD_INTERVAL: '0.5',
  })
  t.same([c.gatewayIssuer, c.gatewayKeysDir, c.identityAssertionTtlS, c.identityAssertionCacheMax,
    c.gatewayKeysReloadIntervalMs], ['urn:acme:gw', '/tmp/gw', 20, 0, 500])
  t.throws(() => loadConfig({ ...env, IDENTITY_ASSERTION_TTL: '61' }), /IDENTITY_ASSERTION_TTL/, 'over 60 s is refused')
  t.throws(() => loadConfig({ ...env, IDENTITY_ASSERTION_TTL: '0' }), /IDENTITY_ASSERTION_TTL/)
})
