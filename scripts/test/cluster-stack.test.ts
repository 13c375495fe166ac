/**
 * REDIS_CLUSTER_NODES end to end: a private 3-master Redis Cluster, the auth service and the
 * gateway both built from env through their own loadConfig, talking over real HTTP on loopback.
 * Register, login, refresh, logout, reuse detection, logout-all, login throttling and the
 * gateway's rate limits must all work on the cluster (a key set spanning hash slots would fail
 * with CROSSSLOT), and the gateway, subscribed to the revocation channel through the cluster,
 * must refuse revoked tokens.
 */
import t from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { Cluster } from 'ioredis'
import { buildAuthService } from '../../auth-service/src/app.js'
import { ConfigError as AuthConfigError, loadConfig as loadAuthConfig } from '../../auth-service/src/config.js'
import { loadKeyring } from '../../auth-service/src/keys/keyring.js'
import { createRedisClient as createAuthRedis } from '../../auth-service/src/redis.js'
import { buildGateway } from '../../gateway/src/app.js'
import { shippedGatewayFile } from '../../gateway/test/helpers/gateway-file.js'
import { ConfigError as GatewayConfigError, loadConfig as loadGatewayConfig } from '../../gateway/src/config.js'
import { createRedisClient, scanAll } from '../../services/kernel/redis.js'
import { ensureRedis } from '../start/setup.js'
import { startRedisCluster } from '../local-redis/redis-cluster.js'
import { PASSWORD } from '../testing/stack.js'
import { waitFor } from '../testing/wait.js'

interface Res { status: number, body: any, headers: Headers }

interface CallOptions { body?: unknown, token?: string }

async function call (base: string, method: string, path: string, opts: CallOptions = {}): Promise<Res> {
  const headers: Record<string, string> = {}
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  const res = await fetch(
    base + path,
    { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) }
  )
  const text = await res.text()
  let body: unknown = null
  try { body = JSON.parse(text) } catch { body = text }
  return { status: res.status, body, headers: res.headers }
}

t.test('REDIS_CLUSTER_NODES is validated by both config loaders', async (t) => {
  const bad = { REDIS_CLUSTER_NODES: '127.0.0.1:7000,nope', CSRF_SECRET: 'x'.repeat(43) }
  t.throws(() => loadAuthConfig(bad), AuthConfigError)
  t.throws(() => loadAuthConfig(bad), /REDIS_CLUSTER_NODES: .*"nope" is not host:port/)
  t.throws(() => loadGatewayConfig(bad), GatewayConfigError)
  t.throws(() => loadGatewayConfig(bad), /REDIS_CLUSTER_NODES: .*"nope" is not host:port/)
  t.throws(() => loadAuthConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6379/3' }), /must not select a database/)
  t.equal(loadAuthConfig({ REDIS_CLUSTER_NODES: ' 127.0.0.1:7000 ' }).redisClusterNodes, '127.0.0.1:7000')
  t.equal(loadAuthConfig({ REDIS_CLUSTER_NODES: '' }).redisClusterNodes, undefined, 'empty means standalone')
  t.equal(
    loadGatewayConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', CSRF_SECRET: 'x'.repeat(43) }).redisClusterNodes,
    '127.0.0.1:7000'
  )
  const plain = createAuthRedis('redis://127.0.0.1:1', 500, undefined)
  t.notOk(plain instanceof Cluster, 'no cluster nodes: a plain client')
  plain.disconnect()
  const cluster = createAuthRedis('redis://127.0.0.1:1', 500, '127.0.0.1:1')
  t.ok(cluster instanceof Cluster, 'cluster nodes: a Cluster client')
  cluster.disconnect()
})

t.test('npm start uses the cluster as given and starts no Redis of its own', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cluster-start-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const lines: string[] = []
  const found = await ensureRedis(
    root,
    { REDIS_CLUSTER_NODES: '127.0.0.1:1,127.0.0.1:2' },
    (_name, line) => { lines.push(line) }
  )
  t.equal(found.server, undefined, 'no private redis-server')
  t.same(lines, ['using the Redis Cluster at 127.0.0.1:1,127.0.0.1:2 (REDIS_CLUSTER_NODES)'])
  t.notOk(existsSync(join(root, '.run')), 'nothing written')
})

t.test('auth service and gateway on a 3-master Redis Cluster', async (t) => {
  const cluster = await startRedisCluster({ masters: 3 })
  t.teardown(() => cluster.stop())
  const keysDir = mkdtempSync(join(tmpdir(), 'cluster-keys-'))
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  const keyring = await loadKeyring(keysDir)
  const prefix = `test:cluster:${randomBytes(4).toString('hex')}:`
  const common = {
    REDIS_URL: 'redis://127.0.0.1:1', // ignored for commands once REDIS_CLUSTER_NODES is set
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    CSRF_SECRET: keyring.secrets.csrfSecret,
  }

  const authConfig = loadAuthConfig({
    ...common,
    KEYS_DIR: keysDir,
    AUTH_PORT: '0',
    REFRESH_REUSE_GRACE: '0',
    LOGIN_MAX_FAILURES: '2',
  })
  t.equal(authConfig.redisClusterNodes, cluster.nodesEnv)
  const auth = await buildAuthService(authConfig, { keyring, logger: false })
  t.teardown(() => auth.close())
  const authUrl = await auth.listen({ host: '127.0.0.1', port: 0 })
  await waitFor(async () => (await call(authUrl, 'GET', '/readyz')).status === 200, 10_000, 'auth /readyz')

  const upstream = Fastify()
  upstream.all(
    '/*',
    async (request) => ({
      url: request.url,
      userId: request.headers['x-user-id'] ?? null,
      sid: request.headers['x-session-id'] ?? null,
    })
  )
  const upstreamUrl = await upstream.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => upstream.close())

  const gwConfig = loadGatewayConfig({
    ...common,
    AUTH_URL: authUrl,
    ORDERS_URL: upstreamUrl,
    USERS_URL: upstreamUrl,
    PAYMENTS_URL: upstreamUrl,
    WEB_URL: upstreamUrl,
    RATE_LIMIT_AUTH: '8',
  })
  const gateway = buildGateway(gwConfig, { file: shippedGatewayFile(gwConfig) })
  t.teardown(() => gateway.close())
  const gw = await gateway.listen({ host: '127.0.0.1', port: 0 })
  await waitFor(async () => (await call(gw, 'GET', '/readyz')).status === 200, 10_000, 'gateway /readyz')
  t.pass('both apps ready on the cluster')

  const email = `cluster-${randomBytes(4).toString('hex')}@example.test`
  const reg = await call(
    gw,
    'POST',
    '/auth/register',
    { body: { email, password: PASSWORD, name: 'Clu', tokenDelivery: 'body' } }
  )
  t.equal(reg.status, 201, 'register through the gateway')
  t.equal(reg.body.user.email, email)
  const dup = await call(gw, 'POST', '/auth/register', { body: { email, password: PASSWORD } })
  t.equal(dup.status, 409, 'the email index is unique on the cluster too')
  t.equal(dup.body.error, 'email_taken')

  const login = await call(gw, 'POST', '/auth/login', { body: { email, password: PASSWORD, tokenDelivery: 'body' } })
  t.equal(login.status, 200, 'login')
  t.equal(login.body.tokenType, 'Bearer')
  const me = await call(gw, 'GET', '/api/users/me', { token: login.body.accessToken })
  t.equal(me.status, 200, 'access token accepted by the gateway')
  t.equal(me.body.userId, reg.body.user.id, 'identity forwarded')
  t.equal(me.body.url, '/users/me')

  const sessions = await call(gw, 'GET', '/auth/sessions', { token: login.body.accessToken })
  t.equal(sessions.status, 200)
  t.equal(sessions.body.sessions.length, 2, 'register and login sessions, read across slots')

  // Refresh rotates (one Lua script on the family's slot); the old token is then a reuse.
  const refreshed = await call(gw, 'POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } })
  t.equal(refreshed.status, 200, 'refresh')
  t.not(refreshed.body.refreshToken, login.body.refreshToken, 'rotated')
  const again = await call(gw, 'POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } })
  t.equal(again.status, 200, 'refresh the rotated token')
  t.equal((await call(gw, 'GET', '/api/orders', { token: again.body.accessToken })).status, 200, 'fresh token works')

  const reused = await call(gw, 'POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } })
  t.equal(reused.status, 401, 'reuse detected')
  t.same(
    reused.body,
    {
      error: 'refresh_token_reused',
      message: 'Refresh token was already used; the session has been revoked',
      statusCode: 401,
    }
  )
  await waitFor(async () =>
    (await call(gw, 'GET', '/api/orders', { token: again.body.accessToken })).status === 401, 10_000, 'gateway ' +
      'refuses the reused family\'s token')
  const refused = await call(gw, 'GET', '/api/orders', { token: again.body.accessToken })
  t.equal(refused.body.error, 'invalid_token', 'revoked session → invalid_token')
  t.match(refused.headers.get('www-authenticate'), /Bearer error="invalid_token"/)
  const newest = await call(gw, 'POST', '/auth/refresh', { body: { refreshToken: again.body.refreshToken } })
  t.equal(newest.status, 401, 'the whole family is gone')
  t.equal(newest.body.error, 'invalid_refresh_token')

  // Logout of the register session: its access token is refused at the gateway.
  t.equal((await call(gw, 'GET', '/api/payments', { token: reg.body.accessToken })).status, 200)
  const out = await call(gw, 'POST', '/auth/logout', { body: { refreshToken: reg.body.refreshToken } })
  t.equal(out.status, 204, 'logout')
  await waitFor(async () =>
    (await call(gw, 'GET', '/api/payments', { token: reg.body.accessToken })).status === 401, 10_000, 'gateway ' +
      'refuses the logged-out token')
  t.equal(
    (await call(gw, 'POST', '/auth/refresh', { body: { refreshToken: reg.body.refreshToken } })).body.error,
    'invalid_refresh_token'
  )

  // Logout-all: a user-wide "not before", published through the cluster.
  const s1 = await call(gw, 'POST', '/auth/login', { body: { email, password: PASSWORD, tokenDelivery: 'body' } })
  const s2 = await call(gw, 'POST', '/auth/login', { body: { email, password: PASSWORD, tokenDelivery: 'body' } })
  t.equal((await call(gw, 'GET', '/api/orders', { token: s2.body.accessToken })).status, 200)
  // iat is in seconds: a logout-all revokes tokens issued before its second
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await call(gw, 'POST', '/auth/logout-all', { token: s1.body.accessToken })).status, 204, 'logout-all')
  await waitFor(async () =>
    (await call(gw, 'GET', '/api/orders', { token: s2.body.accessToken })).status === 401, 10_000, 'gateway refuses ' +
      'every token of the user')
  t.equal((await call(gw, 'POST', '/auth/refresh', { body: { refreshToken: s2.body.refreshToken } })).status, 401)

  // Login throttling: MULTI INCR/EXPIRE on one key.
  for (let i = 0; i < 2; i++) {
    const bad = await call(gw, 'POST', '/auth/login', { body: { email, password: 'wrong password here' } })
    t.equal(bad.status, 401, `failed login ${i + 1}`)
    t.equal(bad.body.error, 'invalid_credentials')
  }
  const throttled = await call(gw, 'POST', '/auth/login', { body: { email, password: PASSWORD } })
  t.equal(throttled.status, 429, 'throttled after LOGIN_MAX_FAILURES')
  t.equal(throttled.body.error, 'rate_limited')
  t.ok(Number(throttled.headers.get('retry-after')) > 0, 'Retry-After')

  // The gateway's per-IP limit on /auth/register counts in the cluster: 2 calls so far, limit 8.
  const statuses: number[] = []
  for (let i = 0; i < 7; i++) {
    statuses.push(
      (await call(gw, 'POST', '/auth/register', { body: { email, password: PASSWORD } })).status
    )
  }
  t.same(statuses, [409, 409, 409, 409, 409, 409, 429], 'the 9th registration from this IP is limited')
  const limited = await call(gw, 'POST', '/auth/register', { body: { email, password: PASSWORD } })
  t.equal(limited.body.error, 'rate_limited')
  t.ok(Number(limited.headers.get('retry-after')) > 0, 'Retry-After')

  // The keys really are spread over the masters.
  const inspect = createRedisClient({ url: 'redis://127.0.0.1:1', clusterNodes: cluster.nodesEnv, lazyConnect: true })
  t.teardown(() => inspect.disconnect())
  const keys: string[] = []
  for await (const key of scanAll(inspect, `${prefix}*`)) keys.push(key)
  t.ok(keys.some((k) => k.startsWith(`${prefix}user:{${reg.body.user.id}}`)), 'user record present')
  t.ok(keys.includes(`${prefix}revoked:sessions`) && keys.includes(`${prefix}revoked:users`), 'revocation sets present')
  t.ok(keys.some((k) => k.startsWith(`${prefix}rl:`)), 'rate-limit counters present')
  const slotsHolders = new Set<number>()
  for (const node of (inspect as Cluster).nodes('master')) {
    const [, found] = await node.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (found.length > 0) slotsHolders.add(node.options.port ?? 0)
  }
  t.ok(slotsHolders.size >= 2, `keys live on ${slotsHolders.size} of 3 masters`)
  inspect.disconnect()

  // The whole cluster gone: the auth service answers 503 through the gateway, never a 500.
  await cluster.stop()
  const down = await call(gw, 'POST', '/auth/login', { body: { email: `x${email}`, password: PASSWORD } })
  t.equal(down.status, 503, 'cluster down → 503')
  t.equal(down.body.error, 'service_unavailable')
  t.ok(down.headers.get('retry-after'), 'Retry-After')
})
