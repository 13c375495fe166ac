import t, { type Test } from 'tap'
import { buildUsersService } from '../src/app.js'

function build (t: Test) {
  const app = buildUsersService()
  t.teardown(() => app.close())
  return app
}

t.test('GET /users/me answers with the forwarded identity', async (t) => {
  const app = build(t)
  const res = await app.inject({
    method: 'GET',
    url: '/users/me',
    headers: {
      'x-user-id': 'user-1',
      'x-user-roles': 'user,admin',
      'x-session-id': 'fam-1',
    },
  })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { id: 'user-1', roles: ['user', 'admin'], sessionId: 'fam-1' })
})

t.test('GET /users/me without x-user-id is 400', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/users/me', headers: { 'x-user-roles': 'admin' } })
  t.equal(res.statusCode, 400)
  t.same(
    res.json(),
    { error: 'invalid_request', message: 'missing x-user-id: requests must come through the gateway', statusCode: 400 }
  )
})

t.test('GET /healthz needs no identity', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', service: 'users' })
})

t.test('GET /readyz is JSON 200 without identity headers (no dependencies: ready means listening)', async (t) => {
  const app = buildUsersService()
  t.teardown(() => app.close())
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${url}/readyz`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/json/)
  t.same(await res.json(), { status: 'ready', service: 'users', checks: {} })
})
