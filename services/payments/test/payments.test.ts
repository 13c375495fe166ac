import t, { type Test } from 'tap'
import { buildPaymentsService } from '../src/app.js'

const alice = { 'x-user-id': 'user-alice', 'x-user-roles': 'user', 'x-session-id': 'sid-a' }
const bob = { 'x-user-id': 'user-bob', 'x-user-roles': 'user', 'x-session-id': 'sid-b' }

function build (t: Test) {
  const app = buildPaymentsService()
  t.teardown(() => app.close())
  return app
}

t.test('POST /payments records a payment of the caller; GET lists only the caller\'s', async (t) => {
  const app = build(t)
  const res = await app.inject({
    method: 'POST',
    url: '/payments',
    headers: alice,
    payload: { amount: 1999, currency: 'EUR' },
  })
  t.equal(res.statusCode, 201)
  const payment = res.json()
  t.match(payment, { id: String, amount: 1999, currency: 'EUR', userId: 'user-alice', createdAt: String })
  await app.inject({ method: 'POST', url: '/payments', headers: bob, payload: { amount: 1, currency: 'GBP' } })

  t.same((await app.inject({ method: 'GET', url: '/payments', headers: alice })).json(), { payments: [payment] })
  const bobs = (await app.inject({ method: 'GET', url: '/payments', headers: bob })).json()
  t.equal(bobs.payments.length, 1)
  t.equal(bobs.payments[0].userId, 'user-bob')
})

t.test('POST /payments with a bad body is 400 invalid_request and stores nothing', async (t) => {
  const app = build(t)
  const cases: Array<{ d: string, payload: unknown }> = [
    { d: 'amount missing', payload: { currency: 'EUR' } },
    { d: 'currency missing', payload: { amount: 100 } },
    { d: 'amount zero', payload: { amount: 0, currency: 'EUR' } },
    { d: 'amount over 1 000 000 cents', payload: { amount: 1_000_001, currency: 'EUR' } },
    { d: 'amount in fractional cents', payload: { amount: 10.5, currency: 'EUR' } },
    { d: 'amount as a string', payload: { amount: '100', currency: 'EUR' } },
    { d: 'unknown currency', payload: { amount: 100, currency: 'JPY' } },
    { d: 'lower-case currency', payload: { amount: 100, currency: 'eur' } },
    { d: 'an unknown field', payload: { amount: 100, currency: 'EUR', userId: 'user-bob' } },
  ]
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: '/payments', headers: alice, payload: c.payload as object })
    t.equal(res.statusCode, 400, c.d)
    t.equal(res.json().error, 'invalid_request', c.d)
    t.match(res.json().message, /body/, c.d)
  }
  t.same(
    (await app.inject({ method: 'GET', url: '/payments', headers: alice })).json(),
    { payments: [] },
    'nothing stored'
  )
})

t.test('payments refuse calls that did not come through the gateway', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'POST', url: '/payments', payload: { amount: 100, currency: 'EUR' } })
  t.equal(res.statusCode, 400)
  t.same(
    res.json(),
    { error: 'invalid_request', message: 'missing x-user-id: requests must come through the gateway', statusCode: 400 }
  )
  t.same((await app.inject({ method: 'GET', url: '/payments', headers: alice })).json(), { payments: [] })
})

t.test('GET /healthz needs no identity', async (t) => {
  const app = build(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', service: 'payments' })
})

t.test('GET /readyz is JSON 200 without identity headers (no dependencies: ready means listening)', async (t) => {
  const app = buildPaymentsService()
  t.teardown(() => app.close())
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${url}/readyz`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/json/)
  t.same(await res.json(), { status: 'ready', service: 'payments', checks: {} })
})
