import t from 'tap'
import { Redis } from 'ioredis'
import { startRedisServer } from '../../../scripts/local-redis/redis-server.js'
import { build, refreshBody, session, uniqueEmail, PASSWORD } from '../helper.js'
import { waitFor } from '../../../scripts/testing/wait.js'

t.test('Redis down → 503 JSON, then recovery without restarting the service', async (t) => {
  const first = await startRedisServer()
  let current = first
  t.teardown(() => current.stop({ removeDir: true }))
  const { app } = await build(t, { REDIS_COMMAND_TIMEOUT: '500' }, { redisUrl: first.url })
  await waitFor(async () => (await app.inject('/readyz')).statusCode === 200)
  const s = await session(app)

  await first.stop()
  const calls = [
    () => app.inject({ method: 'POST', url: '/auth/register', payload: { email: uniqueEmail(), password: PASSWORD } }),
    () => app.inject({ method: 'POST', url: '/auth/login', payload: { email: s.user.email, password: PASSWORD } }),
    () => refreshBody(app, s.refreshToken),
    () => app.inject({ method: 'GET', url: '/auth/sessions', headers: { authorization: `Bearer ${s.accessToken}` } }),
  ]
  for (const call of calls) {
    const res = await call()
    t.equal(res.statusCode, 503, `${res.raw.req.url}: 503 while Redis is down`)
    t.same(res.json(),
      { error: 'service_unavailable', message: 'A backing store is unavailable; try again shortly', statusCode: 503 })
  }
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 503)
  t.match(ready.json(),
    { error: 'service_unavailable', message: /Redis unreachable/, checks: { keys: true, redis: false } })
  t.equal((await app.inject('/healthz')).statusCode, 200, 'still alive')
  t.equal((await app.inject('/.well-known/jwks.json')).statusCode, 200, 'JWKS does not need Redis')

  current = await startRedisServer({ port: first.port, dir: first.dir })
  await waitFor(async () => (await app.inject('/readyz')).statusCode === 200)
  const again = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: uniqueEmail(), password: PASSWORD, tokenDelivery: 'body' },
  })
  t.equal(again.statusCode, 201, 'works again by itself')
  t.equal((await refreshBody(app, again.json().refreshToken)).statusCode, 200,
    'refresh (the Lua script) works after the restart')
})

t.test('a hung Redis command → 503 JSON within REDIS_COMMAND_TIMEOUT instead of hanging, then recovery', async (t) => {
  const server = await startRedisServer()
  t.teardown(() => server.stop({ removeDir: true }))
  const commandTimeout = 300
  const { app } = await build(t, { REDIS_COMMAND_TIMEOUT: String(commandTimeout) }, { redisUrl: server.url })
  await waitFor(async () => (await app.inject('/readyz')).statusCode === 200)
  const s = await session(app)
  const admin = new Redis(server.url)
  t.teardown(() => admin.disconnect())

  // Redis accepts the commands and answers none of them until the pause ends.
  await admin.call('CLIENT', 'PAUSE', '3000', 'ALL')
  const calls = [
    () => refreshBody(app, s.refreshToken),
    () => app.inject({ method: 'GET', url: '/auth/sessions', headers: { authorization: `Bearer ${s.accessToken}` } }),
    () => app.inject({ method: 'POST', url: '/auth/login', payload: { email: s.user.email, password: PASSWORD } }),
  ]
  for (const call of calls) {
    const started = performance.now()
    const res = await call()
    const took = performance.now() - started
    t.equal(res.statusCode, 503, `${res.raw.req.url}: 503 while Redis does not answer`)
    t.same(res.json(),
      { error: 'service_unavailable', message: 'A backing store is unavailable; try again shortly', statusCode: 503 })
    t.ok(took < commandTimeout + 500,
      `${res.raw.req.url}: answered after ${took.toFixed(0)} ms, not held until Redis answers`)
  }

  await waitFor(async () => (await app.inject('/readyz')).statusCode === 200)
  const again = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: uniqueEmail(), password: PASSWORD, tokenDelivery: 'body' },
  })
  t.equal(again.statusCode, 201, 'works again once Redis answers')
  t.equal((await refreshBody(app, again.json().refreshToken)).statusCode, 200, 'refresh works again')
})
