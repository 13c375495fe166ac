import t from 'tap'
import { Redis } from 'ioredis'
import { REVOCATION } from '../../../auth-service/src/contract.js'
import { startRedisServer } from '../../../scripts/local-redis/redis-server.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { waitFor } from '../../../scripts/testing/wait.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const echo = await startEchoUpstream(t)
const jwksUrl = `${jwks.url}/.well-known/jwks.json`
const now = () => Math.floor(Date.now() / 1000)

/** What the auth service does on logout: record the revocation, then announce it. */
async function revokeSession (redis: Redis, prefix: string, sid: string, untilMs = Date.now() + 60_000): Promise<void> {
  await redis.zadd(REVOCATION.sessionsKey(prefix), untilMs, sid)
  await redis.publish(REVOCATION.channel(prefix), JSON.stringify({ type: 'session', sid, until: untilMs }))
}

t.test('a published session revocation reaches the gateway in under a second', async (t) => {
  const r = await useTestRedis(t)
  const gw = await startGateway(t, { jwksUrl, upstream: echo.url, redis: r })
  const token = await signToken(signer, { claims: { sid: 'sid-live' } })
  const other = await signToken(signer, { claims: { sid: 'sid-other' } })
  t.equal((await request(gw.url, '/api/orders', { headers: [bearer(token)] })).status, 200)

  const published = performance.now()
  await revokeSession(r.client, r.prefix, 'sid-live')
  let res = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  while (res.status === 200 && performance.now() - published < 2000) {
    res = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  }
  const elapsed = performance.now() - published
  t.comment(`publish -> first 401: ${elapsed.toFixed(1)} ms`)
  t.equal(res.status, 401)
  t.equal(res.json.error, 'invalid_token')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
  t.ok(elapsed < 1000, 'under 1 s')
  const id = res.headers['x-request-id'] as string
  t.ok(
    gw.logs.some((l) => l.includes(`"reqId":"${id}"`) && l.includes('"reason":"revoked"')), 'logged with reason revoked'
  )
  t.equal((await request(gw.url, '/api/orders', { headers: [bearer(other)] })).status, 200, 'other sessions unaffected')
  const metrics = await request(gw.url, '/metrics')
  t.match(metrics.text, /gateway_revoked_sessions 1/)
})

t.test('logout-all: tokens issued before the user\'s "not before" are refused, later ones pass', async (t) => {
  const r = await useTestRedis(t)
  const gw = await startGateway(t, { jwksUrl, upstream: echo.url, redis: r })
  const old = await signToken(signer, { claims: { sub: 'user-9', iat: now() - 30 } })
  const notBefore = (now() - 10) * 1000
  await r.client.zadd(REVOCATION.usersKey(r.prefix), notBefore, 'user-9')
  await r.client.publish(
    REVOCATION.channel(r.prefix), JSON.stringify({ type: 'user', sub: 'user-9', notBefore, until: Date.now() + 60_000 })
  )
  await waitFor(
    async () => (await request(gw.url, '/api/orders', { headers: [bearer(old)] })).status === 401,
    1000,
    'user revocation'
  )
  const fresh = await signToken(signer, { claims: { sub: 'user-9' } })
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(fresh)] })).status,
    200,
    'a token issued after notBefore passes'
  )
  const otherUser = await signToken(signer, { claims: { sub: 'user-10', iat: now() - 30 } })
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(otherUser)] })).status, 200, 'other users unaffected'
  )
})

t.test('a restarted gateway loads the revocations from Redis', async (t) => {
  const r = await useTestRedis(t)
  await revokeSession(r.client, r.prefix, 'sid-gone')
  await r.client.zadd(REVOCATION.sessionsKey(r.prefix), Date.now() - 1000, 'sid-expired-entry')
  await r.client.zadd(REVOCATION.usersKey(r.prefix), (now() - 10) * 1000, 'user-all-out')
  const gw = await startGateway(t, { jwksUrl, upstream: echo.url, redis: r })
  const gone = await signToken(signer, { claims: { sid: 'sid-gone' } })
  const res = await request(gw.url, '/api/orders', { headers: [bearer(gone)] })
  t.equal(res.status, 401, 'revoked before the gateway started')
  t.equal(res.json.error, 'invalid_token')
  const expired = await signToken(signer, { claims: { sid: 'sid-expired-entry' } })
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(expired)] })).status,
    200,
    'entries past their until are ignored'
  )
  const allOut = await signToken(signer, { claims: { sub: 'user-all-out', iat: now() - 30 } })
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(allOut)] })).status, 401, 'user not-before loaded too'
  )
  t.match((await request(gw.url, '/metrics')).text, /gateway_revoked_sessions 1\n/)
})

t.test('Redis down: the gateway keeps its set and keeps serving; after reconnect it reloads', async (t) => {
  const server = await startRedisServer({ appendOnly: true })
  t.teardown(() => server.stop({ removeDir: true }))
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 })
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  const prefix = 'test:down:'
  const gw = await startGateway(t, { jwksUrl, upstream: echo.url, redis: { url: server.url, prefix } })
  await revokeSession(admin, prefix, 'sid-a')
  const a = await signToken(signer, { claims: { sid: 'sid-a' } })
  const b = await signToken(signer, { claims: { sid: 'sid-b' } })
  await waitFor(
    async () => (await request(gw.url, '/api/orders', { headers: [bearer(a)] })).status === 401,
    1000,
    'revocation of sid-a'
  )

  await server.stop()
  await waitFor(async () => (await request(gw.url, '/readyz')).status === 503, 5000, 'readyz to notice')
  t.match((await request(gw.url, '/readyz')).json, { checks: { keys: true, redis: false } })
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(a)] })).status, 401, 'the known revocation still holds'
  )
  t.equal((await request(gw.url, '/api/orders', { headers: [bearer(b)] })).status, 200, 'valid tokens still served')

  // While the gateway was cut off, the auth service recorded a revocation it could not hear:
  // write it through a Redis on another port sharing the data directory, then bring the
  // gateway's Redis back with that data.
  const side = await startRedisServer({ dir: server.dir, appendOnly: true })
  const sideClient = new Redis(side.url)
  await sideClient.zadd(REVOCATION.sessionsKey(prefix), Date.now() + 60_000, 'sid-b')
  sideClient.disconnect()
  await side.stop()
  const restarted = await startRedisServer({ port: server.port, dir: server.dir, appendOnly: true })
  t.teardown(() => restarted.stop({ removeDir: true }))
  await waitFor(async () => (await request(gw.url, '/readyz')).status === 200, 10_000, 'readyz after reconnect')
  await waitFor(
    async () => (await request(gw.url, '/api/orders', { headers: [bearer(b)] })).status === 401,
    2000,
    'reload after reconnect'
  )
  t.pass('the revocation written while disconnected is loaded after the reconnect')
})
