import t, { type Test } from 'tap'
import { createServiceApp } from '../app.js'
import { toServicePublicError } from '../errors.js'
import { requireRole } from '../identity.js'

function build (t: Test) {
  const app = createServiceApp({ name: 'probe' })
  app.get('/whoami', async (request) => request.identity)
  app.get('/admin', { preHandler: requireRole('admin') }, async () => ({ ok: true }))
  app.get('/boom', async () => { throw new Error('secret detail /etc/passwd') })
  t.teardown(() => app.close())
  return app
}

t.test('the identity plugin reads subject, roles and session from the gateway headers', async (t) => {
  const app = build(t)
  const res = await app.inject({
    method: 'GET',
    url: '/whoami',
    headers: {
      'x-user-id': ' u1 ',
      'x-user-roles': 'user, admin,,',
      'x-session-id': 's1',
    },
  })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { subject: 'u1', roles: ['user', 'admin'], session: 's1' })

  const bare = await app.inject({ method: 'GET', url: '/whoami', headers: { 'x-user-id': 'u2' } })
  t.same(bare.json(), { subject: 'u2', roles: [], session: '' }, 'no roles and no session are empty, not an error')
})

t.test('an empty x-user-id counts as missing', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/whoami', headers: { 'x-user-id': '  ' } })
  t.equal(res.statusCode, 400)
  t.same(
    res.json(),
    { error: 'invalid_request', message: 'missing x-user-id: requests must come through the gateway', statusCode: 400 }
  )
})

t.test('requireRole answers 403 insufficient_scope without the role', async (t) => {
  const app = build(t)
  const denied = await app.inject({
    method: 'GET',
    url: '/admin',
    headers: { 'x-user-id': 'u1', 'x-user-roles': 'user' },
  })
  t.equal(denied.statusCode, 403)
  t.same(denied.json(), { error: 'insufficient_scope', message: 'role "admin" required', statusCode: 403 })
  t.equal(denied.headers['www-authenticate'], 'Bearer error="insufficient_scope"')
  const allowed = await app.inject({
    method: 'GET',
    url: '/admin',
    headers: { 'x-user-id': 'u1', 'x-user-roles': 'admin' },
  })
  t.equal(allowed.statusCode, 200)
})

t.test('an unexpected error is 500 internal_error without details', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/boom', headers: { 'x-user-id': 'u1' } })
  t.equal(res.statusCode, 500)
  t.same(res.json(), { error: 'internal_error', message: 'Internal server error', statusCode: 500 })
  t.notMatch(res.body, /passwd|at /)
})

t.test('toServicePublicError maps by code, then by status', async (t) => {
  const cases = [
    {
      d: 'a status without a code of its own is named by the status',
      err: { statusCode: 429, message: 'slow down' },
      want: { statusCode: 429, body: { error: 'rate_limited', message: 'slow down', statusCode: 429 } },
    },
    {
      d: 'a 4xx the kernel does not name is invalid_request',
      err: { statusCode: 418, message: 'teapot' },
      want: { statusCode: 418, body: { error: 'invalid_request', message: 'teapot', statusCode: 418 } },
    },
    {
      d: 'SVC_ERR_FORBIDDEN is insufficient_scope (the services\' own table)',
      err: { code: 'SVC_ERR_FORBIDDEN', statusCode: 403, message: 'role "admin" required' },
      want: {
        statusCode: 403,
        body: { error: 'insufficient_scope', message: 'role "admin" required', statusCode: 403 },
      },
    },
  ]
  for (const c of cases) t.same(toServicePublicError(c.err), c.want, c.d)
  t.same(toServicePublicError({ statusCode: 503, message: 'db down' }).body,
    { error: 'internal_error', message: 'Internal server error', statusCode: 500 }, 'every 5xx is a plain 500, 503 too')
  t.equal(toServicePublicError({ statusCode: 503, message: 'db down' }).statusCode, 500)
  t.equal(toServicePublicError({ message: 'no status' }).statusCode, 500)
})
