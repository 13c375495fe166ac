/**
 * The whole stack in one process: the real auth service, orders and users services and the
 * gateway on loopback ports, one real Redis. Every call goes through the gateway with fetch,
 * as a client would.
 */
import t from 'tap'
import { jwtVerify, createRemoteJWKSet } from 'jose'
import { sleep, waitFor, type Teardown } from '../../../scripts/testing/wait.js'
import { PASSWORD } from '../../../scripts/testing/stack.js'
import { startInProcessStack } from '../helpers/in-process-stack.js'

const REUSE_GRACE_S = 1

const startStack = (t: Teardown) =>
  startInProcessStack(t, { auth: { REFRESH_REUSE_GRACE: String(REUSE_GRACE_S) } })

/** Milliseconds from `since` until `request` first answers 401 (polling, at most 5 s). */
async function msUntil401 (since: number, request: () => Promise<Response>): Promise<number> {
  await waitFor(async () => (await request()).status === 401, 5000, 'a 401')
  return performance.now() - since
}

t.test('register → login → proxied calls → refresh → reuse → logout, through the gateway', async (t) => {
  const { gatewayUrl } = await startStack(t)
  const email = `life-${Date.now()}@example.test`
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gatewayUrl}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body)
    })
  const api = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`${gatewayUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } })

  const registered = await post('/auth/register', { email, password: PASSWORD, name: 'Life' })
  t.equal(registered.status, 201, 'register answers 201')
  const cookies = registered.headers.getSetCookie().map((c) => c.split('=')[0])
  t.ok(cookies.includes('refresh_token') && cookies.includes('access_token'), 'register sets the session cookies')

  const login = await post('/auth/login', { email, password: PASSWORD, tokenDelivery: 'body' })
  t.equal(login.status, 200)
  const session = await login.json() as { accessToken: string, refreshToken: string, user: { id: string } }
  t.equal(login.headers.getSetCookie().length, 0, 'body mode sets no cookies')

  const claims = (await jwtVerify(session.accessToken, createRemoteJWKSet(
    new URL(`${gatewayUrl}/.well-known/jwks.json`)
  ), {
    algorithms: ['RS256'], typ: 'at+jwt',
  })).payload
  t.equal(claims.sub, session.user.id, 'the token verifies against the JWKS served through the gateway')

  await t.test('the service sees the verified identity, never a spoofed one', async (t) => {
    const me = await api(
      '/api/users/me', session.accessToken, { headers: { 'x-user-id': 'attacker', 'x-user-roles': 'admin' } }
    )
    t.equal(me.status, 200)
    t.same(await me.json(), { id: session.user.id, roles: ['user'], sessionId: claims.sid })
    const anonymous = await fetch(`${gatewayUrl}/api/users/me`, { headers: { 'x-user-id': 'attacker' } })
    t.equal(anonymous.status, 401, 'a spoofed header alone is no identity')
    t.match(anonymous.headers.get('www-authenticate'), /error="invalid_token"/)
  })

  await t.test('orders: create and list own orders; delete needs admin', async (t) => {
    const created = await api('/api/orders', session.accessToken, {
      method: 'POST',
      headers: {
        'content-type': 'application/json'
      },
      body: JSON.stringify({ item: 'tea', quantity: 2 }),
    })
    t.equal(created.status, 201)
    const order = await created.json() as { id: string, userId: string }
    t.equal(order.userId, session.user.id)
    const list = await (await api('/api/orders', session.accessToken)).json() as { orders: Array<{ id: string }> }
    t.same(list.orders.map((o) => o.id), [order.id])
    const denied = await api(`/api/orders/${order.id}`, session.accessToken, { method: 'DELETE' })
    t.equal(denied.status, 403)
    t.equal((await denied.json() as { error: string }).error, 'insufficient_scope')
    t.equal((await api(`/api/orders/${order.id}`, session.accessToken)).status, 200, 'the order is still there')
  })

  await t.test('refresh rotates; reusing a rotated token revokes the family at the gateway within a second', async (
    t
  ) => {
    const first = await post('/auth/refresh', { refreshToken: session.refreshToken })
    t.equal(first.status, 200)
    const rotated = await first.json() as { accessToken: string, refreshToken: string }
    t.not(rotated.refreshToken, session.refreshToken)
    t.equal((await api('/api/users/me', rotated.accessToken)).status, 200, 'the new access token works')

    await sleep(REUSE_GRACE_S * 1000 + 200)
    const reuse = await post('/auth/refresh', { refreshToken: session.refreshToken })
    const reusedAt = performance.now()
    t.equal(reuse.status, 401)
    t.equal((await reuse.json() as { error: string }).error, 'refresh_token_reused')
    const lag = await msUntil401(reusedAt, () => api('/api/users/me', rotated.accessToken))
    t.comment(`reuse → family's access token refused at the gateway after ${lag.toFixed(0)} ms`)
    t.ok(lag < 1000, 'revoked within one second')
    const denied = await api('/api/users/me', rotated.accessToken)
    t.equal((await denied.json() as { error: string }).error, 'invalid_token')
    t.equal(
      (await post('/auth/refresh', { refreshToken: rotated.refreshToken })).status,
      401,
      'the newest refresh token is dead too'
    )
  })

  await t.test('logout revokes the session\'s access token at the gateway within a second', async (t) => {
    const again = await post('/auth/login', { email, password: PASSWORD, tokenDelivery: 'body' })
    const s = await again.json() as { accessToken: string, refreshToken: string }
    t.equal((await api('/api/orders', s.accessToken)).status, 200)
    const out = await post('/auth/logout', { refreshToken: s.refreshToken })
    const loggedOutAt = performance.now()
    t.equal(out.status, 204)
    const lag = await msUntil401(loggedOutAt, () => api('/api/orders', s.accessToken))
    t.comment(`logout → access token refused at the gateway after ${lag.toFixed(0)} ms`)
    t.ok(lag < 1000, 'revoked within one second')
  })

  await t.test('a cookie session works for safe requests; the refresh token is never an access token', async (t) => {
    const byCookie = await post('/auth/login', { email, password: PASSWORD })
    const jar = byCookie.headers.getSetCookie().map((c) => c.split(';')[0]!)
    const access = jar.find((c) => c.startsWith('access_token='))!
    const refresh = jar.find((c) => c.startsWith('refresh_token='))!.slice('refresh_token='.length)
    const res = await fetch(`${gatewayUrl}/api/users/me`, { headers: { cookie: access } })
    t.equal(res.status, 200)
    const asBearer = await api('/api/users/me', refresh)
    t.equal(asBearer.status, 401)
    t.equal((await asBearer.json() as { error: string }).error, 'invalid_token')
  })
})
