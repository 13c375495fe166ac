import t from 'tap'
import { ConfigError, DEFAULT_KEYS_DIR, loadConfig } from '../../src/config.js'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../src/contract.js'
import { loadKeysCliConfig } from '../../src/cli/keys/config.js'

t.test('loadConfig: defaults', async (t) => {
  const c = loadConfig({})
  t.match(c, {
    host: '127.0.0.1',
    port: 4000,
    redisUrl: 'redis://127.0.0.1:6379',
    redisPrefix: 'jwt-edge:',
    issuer: DEFAULT_ISSUER,
    audience: DEFAULT_AUDIENCE,
    accessTokenTtl: 900,
    refreshTokenTtl: 604800,
    sessionMaxAge: 2592000,
    refreshReuseGrace: 10,
    jwksMaxAge: 300,
    cookieSameSite: 'strict',
    trustProxy: '127.0.0.1,::1',
    loginMaxFailures: 5,
    keysDir: DEFAULT_KEYS_DIR,
  })
  t.ok(Object.isFrozen(c))
  t.match(DEFAULT_KEYS_DIR, /keys$/)
  t.equal(loadConfig({ COOKIE_SAMESITE: 'None' }).cookieSameSite, 'none')
})

t.test('loadConfig: every bad variable reported at once', async (t) => {
  const err = t.throws(() => loadConfig({
    AUTH_PORT: 'eighty',
    ACCESS_TOKEN_TTL: '-1',
    REDIS_URL: 'http://x',
    COOKIE_SAMESITE: 'sometimes',
    REFRESH_TOKEN_SECRET: 'short',
    LOG_LEVEL: 'loud',
  })) as ConfigError
  t.type(err, ConfigError)
  t.equal(err.problems.length, 6)
  for (const name of ['AUTH_PORT', 'ACCESS_TOKEN_TTL', 'REDIS_URL', 'COOKIE_SAMESITE', 'REFRESH_TOKEN_SECRET',
    'LOG_LEVEL']) {
    t.match(err.message, name)
  }
  t.throws(() => loadConfig({ REFRESH_TOKEN_TTL: '100', SESSION_MAX_AGE: '50' }), /must not exceed SESSION_MAX_AGE/)
})

t.test('loadConfig: every range, default and bound', async (t) => {
  const rows: Array<{ d: string, env: Record<string, string>, ok: boolean, field?: string, value?: unknown }> = [
    { d: 'AUTH_PORT 0 (any free port) is allowed', env: { AUTH_PORT: '0' }, ok: true, field: 'port', value: 0 },
    { d: 'AUTH_PORT above 65535 is refused', env: { AUTH_PORT: '65536' }, ok: false },
    {
      d: 'REFRESH_REUSE_GRACE 0 turns the grace off',
      env: { REFRESH_REUSE_GRACE: '0' },
      ok: true,
      field: 'refreshReuseGrace',
      value: 0,
    },
    { d: 'REFRESH_REUSE_GRACE above 300 is refused', env: { REFRESH_REUSE_GRACE: '301' }, ok: false },
    { d: 'REDIS_COMMAND_TIMEOUT below 50 ms is refused', env: { REDIS_COMMAND_TIMEOUT: '49' }, ok: false },
    {
      d: 'LOGIN_MAX_FAILURES 0 turns throttling off',
      env: { LOGIN_MAX_FAILURES: '0' },
      ok: true,
      field: 'loginMaxFailures',
      value: 0,
    },
    { d: 'LOGIN_FAILURE_WINDOW 0 is refused', env: { LOGIN_FAILURE_WINDOW: '0' }, ok: false },
    { d: 'a fractional TTL is refused', env: { ACCESS_TOKEN_TTL: '1.5' }, ok: false },
    {
      d: 'KEYS_RELOAD_INTERVAL 0 turns the poll off',
      env: { KEYS_RELOAD_INTERVAL: '0' },
      ok: true,
      field: 'keysReloadInterval',
      value: 0,
    },
    {
      d: 'a secret of 32 characters is enough',
      env: { CSRF_SECRET: 'x'.repeat(32) },
      ok: true,
      field: 'csrfSecret',
      value: 'x'.repeat(32),
    },
    { d: 'a secret of 31 characters is refused', env: { CSRF_SECRET: 'x'.repeat(31) }, ok: false },
    {
      d: 'rediss:// is a Redis URL',
      env: { REDIS_URL: 'rediss://h:6380' },
      ok: true,
      field: 'redisUrl',
      value: 'rediss://h:6380',
    },
    { d: 'a cluster node list is checked', env: { REDIS_CLUSTER_NODES: 'h:0' }, ok: false },
    {
      d: 'a cluster with a database in REDIS_URL is refused',
      env: { REDIS_CLUSTER_NODES: 'h:7000', REDIS_URL: 'redis://h/2' },
      ok: false,
    },
    {
      d: 'COOKIE_SAMESITE is case-insensitive',
      env: { COOKIE_SAMESITE: 'lax' },
      ok: true,
      field: 'cookieSameSite',
      value: 'lax',
    },
    {
      d: 'blank values mean the default',
      env: { AUTH_PORT: ' ', REDIS_PREFIX: '' },
      ok: true,
      field: 'port',
      value: 4000,
    },
  ]
  for (const row of rows) {
    if (!row.ok) {
      t.throws(() => loadConfig(row.env), ConfigError, row.d)
      continue
    }
    t.equal((loadConfig(row.env) as unknown as Record<string, unknown>)[row.field!], row.value, row.d)
  }
})

t.test('loadKeysCliConfig: the service readers plus GATEWAY_URLS and CLOCK_TOLERANCE', async (t) => {
  t.match(loadKeysCliConfig({}), {
    keysDir: DEFAULT_KEYS_DIR,
    redisUrl: 'redis://127.0.0.1:6379',
    redisPrefix: 'jwt-edge:',
    accessTokenTtl: 900,
    clockTolerance: 5,
    gatewayUrls: [],
  })
  t.same(loadKeysCliConfig({ GATEWAY_URLS: ' http://a:1, ,https://b ' }).gatewayUrls, ['http://a:1', 'https://b'])
  const err = t.throws(() => loadKeysCliConfig({
    GATEWAY_URLS: 'gw-1:8080',
    CLOCK_TOLERANCE: 'soon',
    ACCESS_TOKEN_TTL: '0',
  }))
  t.type(err, ConfigError)
  t.equal((err as ConfigError).problems.length, 3, 'every problem at once')
  t.match((err as Error).message, /GATEWAY_URLS entries must be http\(s\) URLs \(got "gw-1:8080"\)/)
})
