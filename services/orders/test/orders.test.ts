import t, { type Test } from 'tap'
import { openSocket } from '../../../scripts/testing/websocket.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { buildOrdersService } from '../src/app.js'

const alice = { 'x-user-id': 'user-alice', 'x-user-roles': 'user', 'x-session-id': 'sid-a' }
const bob = { 'x-user-id': 'user-bob', 'x-user-roles': 'user', 'x-session-id': 'sid-b' }
const admin = { 'x-user-id': 'user-admin', 'x-user-roles': 'user,admin', 'x-session-id': 'sid-x' }

function build (t: Test) {
  const app = buildOrdersService()
  t.teardown(() => app.close())
  return app
}

t.test('GET /orders without x-user-id is refused with 400 (not through the gateway)', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/orders' })
  t.equal(res.statusCode, 400)
  t.same(
    res.json(),
    { error: 'invalid_request', message: 'missing x-user-id: requests must come through the gateway', statusCode: 400 }
  )
})

t.test('POST /orders without x-user-id is refused before the body is read, nothing stored', async (t) => {
  const app = build(t)
  // Not even JSON: a parse or validation error would be a 400 too, but with its own message.
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { 'content-type': 'application/json' },
    payload: '{"item": ',
  })
  t.equal(res.statusCode, 400)
  t.same(
    res.json(),
    { error: 'invalid_request', message: 'missing x-user-id: requests must come through the gateway', statusCode: 400 }
  )
  t.same((await app.inject({ method: 'GET', url: '/orders', headers: alice })).json(), { orders: [] })
})

t.test('GET /healthz answers without identity headers', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', service: 'orders' })
})

t.test('POST /orders creates an order of the caller', async (t) => {
  const app = build(t)
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: alice,
    payload: { item: 'tea', quantity: 3 },
  })
  t.equal(res.statusCode, 201)
  const order = res.json()
  t.match(order, { item: 'tea', quantity: 3, userId: 'user-alice', id: String, createdAt: String })
  t.ok(!Number.isNaN(Date.parse(order.createdAt)), 'createdAt is an ISO date')
  const list = await app.inject({ method: 'GET', url: '/orders', headers: alice })
  t.same(list.json(), { orders: [order] })
  const one = await app.inject({ method: 'GET', url: `/orders/${order.id}`, headers: alice })
  t.equal(one.statusCode, 200)
  t.same(one.json(), order)
})

t.test('users see only their own orders', async (t) => {
  const app = build(t)
  const created = (
    await app.inject({ method: 'POST', url: '/orders', headers: alice, payload: { item: 'tea', quantity: 1 } })
  ).json()
  await app.inject({ method: 'POST', url: '/orders', headers: bob, payload: { item: 'coffee', quantity: 2 } })

  const bobs = (await app.inject({ method: 'GET', url: '/orders', headers: bob })).json()
  t.equal(bobs.orders.length, 1)
  t.equal(bobs.orders[0].item, 'coffee')
  t.equal(bobs.orders[0].userId, 'user-bob')

  const peek = await app.inject({ method: 'GET', url: `/orders/${created.id}`, headers: bob })
  t.equal(peek.statusCode, 404, "another user's order is not found")
  t.same(peek.json(), { error: 'not_found', message: 'order not found', statusCode: 404 })
})

t.test('POST /orders with a bad body is 400 invalid_request and stores nothing', async (t) => {
  const app = build(t)
  const cases: Array<{ d: string, payload: unknown }> = [
    { d: 'item missing', payload: { quantity: 1 } },
    { d: 'quantity missing', payload: { item: 'tea' } },
    { d: 'empty item', payload: { item: '', quantity: 1 } },
    { d: 'item over 100 characters', payload: { item: 'x'.repeat(101), quantity: 1 } },
    { d: 'quantity zero', payload: { item: 'tea', quantity: 0 } },
    { d: 'quantity over 1000', payload: { item: 'tea', quantity: 1001 } },
    { d: 'quantity not an integer', payload: { item: 'tea', quantity: 1.5 } },
    { d: 'quantity as a string is not coerced', payload: { item: 'tea', quantity: '5' } },
    { d: 'an unknown field is rejected, not dropped', payload: { item: 'tea', quantity: 1, userId: 'user-bob' } },
    { d: 'an array instead of an object', payload: [{ item: 'tea', quantity: 1 }] },
  ]
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: '/orders', headers: alice, payload: c.payload as object })
    t.equal(res.statusCode, 400, c.d)
    const body = res.json()
    t.equal(body.error, 'invalid_request', c.d)
    t.match(body.message, /body/, `${c.d}: message says what is wrong (${body.message})`)
  }
  t.same((await app.inject({ method: 'GET', url: '/orders', headers: alice })).json(), { orders: [] }, 'nothing stored')
})

t.test('POST /orders with malformed JSON, a wrong media type or a huge body', async (t) => {
  const app = build(t)
  const malformed = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'content-type': 'application/json' },
    payload: '{"item": ' +
      '"tea",',
  })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().error, 'invalid_request')
  t.match(malformed.json().message, /JSON/)

  const text = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'content-type': 'text/plain' },
    payload: 'tea',
  })
  t.equal(text.statusCode, 415)
  t.equal(text.json().error, 'unsupported_media_type')

  const huge = await app.inject({
    method: 'POST', url: '/orders', headers: alice, payload: { item: 'tea', quantity: 1, pad: 'x'.repeat(20_000) },
  })
  t.equal(huge.statusCode, 413)
  t.equal(huge.json().error, 'payload_too_large')
  t.same((await app.inject({ method: 'GET', url: '/orders', headers: alice })).json(), { orders: [] }, 'nothing stored')
})

t.test('DELETE /orders/:id needs role admin, checked in the service', async (t) => {
  const app = build(t)
  const order = (
    await app.inject({ method: 'POST', url: '/orders', headers: alice, payload: { item: 'tea', quantity: 1 } })
  ).json()

  const own = await app.inject({ method: 'DELETE', url: `/orders/${order.id}`, headers: alice })
  t.equal(own.statusCode, 403, 'the owner without admin cannot delete')
  t.same(own.json(), { error: 'insufficient_scope', message: 'role "admin" required', statusCode: 403 })
  t.match(own.headers['www-authenticate'], /insufficient_scope/)
  t.equal(
    (await app.inject({ method: 'GET', url: `/orders/${order.id}`, headers: alice })).statusCode,
    200,
    'still there'
  )

  const adminOnlyInName = await app.inject({
    method: 'DELETE', url: `/orders/${order.id}`, headers: { ...alice, 'x-user-roles': 'administrator,admins' },
  })
  t.equal(adminOnlyInName.statusCode, 403, 'roles are matched exactly')

  const byAdmin = await app.inject({ method: 'DELETE', url: `/orders/${order.id}`, headers: admin })
  t.equal(byAdmin.statusCode, 204, "an admin deletes another user's order")
  t.equal(byAdmin.body, '')
  const gone = await app.inject({ method: 'GET', url: `/orders/${order.id}`, headers: alice })
  t.equal(gone.statusCode, 404)
  t.same((await app.inject({ method: 'GET', url: '/orders', headers: alice })).json(), { orders: [] })

  const again = await app.inject({ method: 'DELETE', url: `/orders/${order.id}`, headers: admin })
  t.equal(again.statusCode, 404)
  t.same(again.json(), { error: 'not_found', message: 'order not found', statusCode: 404 })
})

t.test('an unknown route is 404 not_found', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/nope?x=1', headers: alice })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { error: 'not_found', message: 'route GET /nope not found', statusCode: 404 })
})

t.test('over a real connection: identity headers decide, a missing one is 400', async (t) => {
  const app = buildOrdersService()
  t.teardown(() => app.close())
  const url = await app.listen({ host: '127.0.0.1', port: 0 })

  const anonymous = await fetch(`${url}/orders`)
  t.equal(anonymous.status, 400)
  t.match(anonymous.headers.get('content-type'), /application\/json/)
  t.same(
    await anonymous.json(),
    { error: 'invalid_request', message: 'missing x-user-id: requests must come through the gateway', statusCode: 400 }
  )

  const created = await fetch(`${url}/orders`, {
    method: 'POST',
    headers: { ...alice, 'content-type': 'application/json' },
    body: JSON.stringify({
      item: 'tea',
      quantity: 2,
    }),
  })
  t.equal(created.status, 201)
  const list = await fetch(`${url}/orders`, { headers: alice })
  t.equal(list.status, 200)
  t.equal((await list.json()).orders.length, 1)
  t.same(await (await fetch(`${url}/orders`, { headers: bob })).json(), { orders: [] })
})

t.test('GET /readyz is JSON 200 without identity headers (no dependencies: ready means listening)', async (t) => {
  const app = buildOrdersService()
  t.teardown(() => app.close())
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${url}/readyz`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/json/)
  t.same(await res.json(), { status: 'ready', service: 'orders', checks: {} })
})

t.test('GET /orders/live: a WebSocket of the caller\'s own order changes, identity from the upgrade', async (t) => {
  const app = build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/orders/live`
  const refused = await openSocket(url)
  t.same(refused.ok ? 'opened' : refused.status, 400, 'no identity headers: refused')
  const feed = await openSocket(url, alice)
  if (!feed.ok) throw new Error('refused')
  const received: unknown[] = []
  feed.ws.on('message', (data) => received.push(JSON.parse(data.toString())))
  const post = async (as: Record<string, string>, item: string) => (await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...as, 'content-type': 'application/json' },
    payload: { item, quantity: 2 },
  })).json()
  const created = await post(alice, 'tea')
  await post(bob, 'not for alice')
  t.equal((await app.inject({ method: 'DELETE', url: `/orders/${created.id}`, headers: admin })).statusCode, 204)
  await waitFor(async () => received.length >= 2, 2000, 'two changes')
  const expected = [{ type: 'order.created', order: created }, { type: 'order.deleted', order: created }]
  t.same(received, expected, "alice's only")
  feed.ws.close()
  await feed.closed
})
