import t, { type Test } from 'tap'
import { startRedisServer } from '../../../scripts/local-redis/redis-server.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { bearer, request, type Res } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { startCountingUpstream } from '../helpers/browser-fixtures.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const jwksUrl = `${jwks.url}/.well-known/jwks.json`
const upstream = await startCountingUpstream(t)
// Two replicas on one Redis and one prefix; a trusted proxy in front lets the test pick client IPs.
const shared = await useTestRedis(t)
const limits = { rateLimitAuth: 3, rateLimitApi: 4, rateLimitNotFound: 2, trustProxy: ['127.0.0.1'] }
const [a, b] = await Promise.all([1, 2].map(() => startGateway(t, {
  jwksUrl,
  upstream: upstream.url,
  redis: { url: shared.url, prefix: shared.prefix },
  config: limits,
})))

const login = (url: string, ip: string) => request(url, '/auth/login', {
  method: 'POST',
  headers: [['Content-Type', 'application/json'], ['X-Forwarded-For', ip]],
  body: '{"email":"a@example.test","password":"guess"}',
})

function assertLimited (t: Test, res: Res, limit: number, what: string): void {
  t.equal(res.status, 429, `${what}: 429`)
  t.same(Object.keys(res.json ?? {}).sort(), ['error', 'message', 'statusCode'], `${what}: JSON body`)
  t.equal(res.json?.error, 'rate_limited', `${what}: rate_limited`)
  t.match(res.json?.message, /retry in/i, `${what}: says when to retry`)
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `${what}: Retry-After ${res.headers['retry-after']} in 1..60 s`)
  t.equal(res.headers['x-ratelimit-limit'], String(limit), `${what}: x-ratelimit-limit`)
  t.equal(res.headers['x-ratelimit-remaining'], '0', `${what}: x-ratelimit-remaining`)
  t.ok(Number(res.headers['x-ratelimit-reset']) >= 1, `${what}: x-ratelimit-reset`)
  t.ok(res.headers['content-security-policy'], `${what}: security headers too`)
}

t.test('POST /auth/login: per client IP, counted across two gateway instances', async (t) => {
  const ip = '198.51.100.7'
  const before = upstream.hits('/auth/login')
  const first = await login(a!.url, ip)
  t.equal(first.status, 200, 'proxied')
  t.equal(first.headers['x-ratelimit-limit'], '3')
  t.equal(first.headers['x-ratelimit-remaining'], '2')
  t.equal((await login(b!.url, ip)).headers['x-ratelimit-remaining'], '1', 'the other instance sees the same counter')
  t.equal((await login(a!.url, ip)).status, 200)
  const limited = await login(b!.url, ip)
  assertLimited(t, limited, 3, 'fourth login')
  t.equal(upstream.hits('/auth/login'), before + 3, 'the limited request never reached the auth service')
  t.equal((await login(a!.url, ip)).status, 429, 'still limited on the first instance')

  t.equal((await login(a!.url, '198.51.100.8')).status, 200, 'another IP is not affected')
  const register = await request(a!.url, '/auth/register', {
    method: 'POST', headers: [['Content-Type', 'application/json'], ['X-Forwarded-For', ip]], body: '{}'
  })
  t.equal(register.status, 200, '/auth/register has its own counter')
  const sneaky = await request(a!.url, '/auth/%6Cogin', {
    method: 'POST', headers: [['Content-Type', 'application/json'], ['X-Forwarded-For', ip]], body: '{}'
  })
  t.equal(sneaky.status, 429, 'an encoded path counts as /auth/login')
  const keys = await shared.client.keys(`${shared.prefix}rl:*`)
  t.ok(keys.includes(`${shared.prefix}rl:auth-login:${ip}`), 'namespaced key under REDIS_PREFIX')
})

t.test('POST /auth/refresh is limited per IP; GET and other /auth calls are not', async (t) => {
  const ip = '198.51.100.20'
  const refresh = () => request(
    b!.url,
    '/auth/refresh',
    {
      method: 'POST',
      headers: [['Content-Type', 'application/json'], ['X-Forwarded-For', ip]],
      body: '{"refreshToken":"x"}',
    }
  )
  for (let i = 0; i < 3; i++) t.equal((await refresh()).status, 200)
  assertLimited(t, await refresh(), 3, 'fourth refresh')
  for (let i = 0; i < 5; i++) {
    const res = await request(a!.url, '/auth/sessions', { headers: [['X-Forwarded-For', ip]] })
    t.equal(res.status, 200)
    t.equal(res.headers['x-ratelimit-limit'], undefined, 'not limited')
  }
})

t.test('/api/*: per user (token sub) after authentication, across instances', async (t) => {
  const alice = await signToken(signer, { claims: { sub: 'alice' } })
  const aliceOtherSession = await signToken(signer, { claims: { sub: 'alice' } })
  const bob = await signToken(signer, { claims: { sub: 'bob' } })
  const before = upstream.hits('/orders')
  const remaining: string[] = []
  for (const [gw, token] of [[a, alice], [b, alice], [a, aliceOtherSession], [b, alice]] as const) {
    const res = await request(gw!.url, '/api/orders', { headers: [bearer(token), ['X-Forwarded-For', '203.0.113.1']] })
    t.equal(res.status, 200)
    remaining.push(res.headers['x-ratelimit-remaining'] as string)
  }
  t.same(remaining, ['3', '2', '1', '0'], 'one counter for alice, whichever session or instance')
  assertLimited(
    t,
    await request(b!.url, '/api/payments', { headers: [bearer(alice), ['X-Forwarded-For', '203.0.113.99']] }),
    4,
    'alice\'s fifth call (from another IP)'
  )
  t.equal(upstream.hits('/orders') + upstream.hits('/payments'), before + 4, 'the limited call never reached a service')
  t.equal(
    (await request(a!.url, '/api/orders', { headers: [bearer(bob), ['X-Forwarded-For', '203.0.113.1']] })).status,
    200,
    'bob, same IP, is not affected'
  )

  const anonymous = await request(a!.url, '/api/orders', { headers: [['X-Forwarded-For', '203.0.113.50']] })
  t.equal(anonymous.status, 401, 'no token: 401 before any per-user counting')
  t.equal(anonymous.headers['x-ratelimit-limit'], undefined)
})

t.test('the gateway\'s own 404s are rate limited per IP (URL probing)', async (t) => {
  const probe = (path: string) => request(a!.url, path, { headers: [['X-Forwarded-For', '192.0.2.44']] })
  const first = await probe('/api/admin')
  t.equal(first.status, 404)
  t.equal(first.json.error, 'not_found')
  t.equal((await probe('/api/.git/config')).status, 404)
  assertLimited(t, await probe('/api/backup.zip'), 2, 'third probe')
  t.equal(
    (await request(a!.url, '/api/nothing', { headers: [['X-Forwarded-For', '192.0.2.45']] })).status,
    404,
    'another IP still gets its 404'
  )
})

t.test('Redis down: limits fail open (no 500), and hold again once Redis is back', async (t) => {
  const server = await startRedisServer()
  t.teardown(() => server.stop({ removeDir: true }))
  const gw = await startGateway(t, {
    jwksUrl,
    upstream: upstream.url,
    redis: { url: server.url, prefix: 'test:rl-down:' },
    config: { ...limits, rateLimitAuth: 2 },
  })
  const ip = '198.51.100.77'
  t.equal((await login(gw.url, ip)).status, 200)
  t.equal((await login(gw.url, ip)).status, 200)
  t.equal((await login(gw.url, ip)).status, 429, 'limited while Redis is up')

  await server.stop()
  await waitFor(async () => (await request(gw.url, '/readyz')).status === 503, 5000, 'readyz to notice')
  const whileDown: number[] = []
  for (let i = 0; i < 4; i++) whileDown.push((await login(gw.url, ip)).status)
  t.same(
    whileDown,
    [200, 200, 200, 200],
    'served without Redis (fail open, past the limit, even for the limited IP), never a 500'
  )

  const back = await startRedisServer({ port: server.port })
  t.teardown(() => back.stop({ removeDir: true }))
  await waitFor(async () => (await request(gw.url, '/readyz')).status === 200, 10_000, 'readyz after Redis returns')
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await login(gw.url, '198.51.100.79')).status)
  t.same(statuses, [200, 200, 429], 'limiting resumes')
})
