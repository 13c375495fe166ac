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
    method: 'GET', url: '/users/me', headers: { 'x-user-id': 'user-1', 'x-user-roles': 'user,admin', 'x-session-id': 'fam-1' },
  })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { id: 'user-1', roles: ['user', 'admin'], sessionId: 'fam-1' })
})

t.test('GET /users/me without x-user-id is 400', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/users/me', headers: { 'x-user-roles': 'admin' } })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_request', message: 'missing x-user-id: requests must come through the gateway', statusCode: 400 })
})

t.test('GET /healthz needs no identity', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', service: 'users' })
})
