import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { ApiError, createApiClient } from '../app/api-client.js'
import type { Teardown } from '../../../scripts/testing/wait.js'

const CSRF = 'csrf-value-for-tests'

/**
 * A throwaway backend: GET/POST /api/thing answer 401 unless the Bearer token is the
 * current one; POST /auth/refresh (slow, so concurrent 401s pile up) issues a new token
 * when the CSRF header matches, or refuses when `refuse` is set. GET /api/slow is
 * /api/thing held until `releaseSlow()`, so its token is checked only then.
 */
async function startBackend (t: Teardown, opts: { refuse?: boolean, refuseApi?: boolean } = {}) {
  const state = {
    current: 'token-1',
    generation: 1,
    refreshCalls: 0,
    hits: new Map<string,
    number>(),
    csrfSeen: [] as (string | undefined)[],
  }
  const app: FastifyInstance = Fastify()
  app.post('/auth/refresh', async (request, reply) => {
    state.refreshCalls++
    await new Promise((resolve) => setTimeout(resolve, 100))
    if (opts.refuse) {
      return reply.code(401).send({
        error: 'invalid_refresh_token',
        message: 'refresh token is not valid',
      })
    }
    if (request.headers['x-csrf-token'] !== CSRF) {
      return reply.code(403).send({
        error: 'csrf_failed',
        message: 'bad csrf',
      })
    }
    state.generation++
    state.current = `token-${state.generation}`
    return { accessToken: state.current, tokenType: 'Bearer', expiresIn: 5 }
  })
  const thing = async (
    request: { headers: Record<string, unknown>, query: unknown },
    reply: { code: (n: number) => { send: (b: unknown) => unknown } }
  ) => {
    const id = String((request.query as { id?: string }).id)
    state.hits.set(id, (state.hits.get(id) ?? 0) + 1)
    if (opts.refuseApi || request.headers.authorization !== `Bearer ${state.current}`) {
      return reply.code(401).send({ error: 'invalid_token', message: 'token expired' })
    }
    return { ok: true, id }
  }
  app.get('/api/thing', thing)
  let releaseSlow: () => void = () => {}
  const slowReleased = new Promise<void>((resolve) => { releaseSlow = resolve })
  app.get('/api/slow', async (request, reply) => {
    await slowReleased
    return thing(request, reply)
  })
  app.post('/api/thing', async (request, reply) => {
    state.csrfSeen.push(request.headers['x-csrf-token'] as string | undefined)
    return thing(request, reply)
  })
  app.delete('/api/admin-only', async (_request, reply) =>
    reply.code(403).send({ error: 'insufficient_scope', message: 'role admin required' }))
  app.get('/api/empty', async (_request, reply) => reply.code(204).send())
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => {
    releaseSlow()
    return app.close()
  })
  return { url, state, releaseSlow: () => releaseSlow() }
}

async function loggedInClient (t: Teardown, opts: { refuse?: boolean } = {}) {
  const backend = await startBackend(t, opts)
  let loggedOut = 0
  const tokens: (string | null)[] = []
  const client = createApiClient({
    baseUrl: backend.url,
    readCsrfToken: () => CSRF,
    onLoggedOut: () => { loggedOut++ },
    onAccessToken: (tok) => tokens.push(tok),
  })
  // A page load: the refresh cookie gives token-2 (or nothing when `refuse` is set).
  await client.restore()
  return { client, backend, loggedOut: () => loggedOut, tokens }
}

t.test('10 concurrent 401s cause exactly one refresh and every request is replayed once', async (t) => {
  const { client, backend, loggedOut } = await loggedInClient(t)
  t.equal(client.accessToken(), 'token-2', 'restore() got a token')
  backend.state.current = 'rotated-elsewhere' // every call now gets a 401
  backend.state.refreshCalls = 0

  const results = await Promise.all(Array.from({ length: 10 }, (_v, i) =>
    client.request<{ ok: boolean, id: string }>('GET', `/api/thing?id=${i}`)))

  t.equal(backend.state.refreshCalls, 1, 'one refresh for ten 401s')
  t.same(results.map((r) => r.id), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'all ten answered')
  for (let i = 0; i < 10; i++) {
    t.equal(
      backend.state.hits.get(String(i)),
      2,
      `request ${i} sent twice (original + one replay)`
    )
  }
  t.equal(client.accessToken(), 'token-3')
  t.equal(loggedOut(), 0, 'not logged out')
})

t.test('a refresh failure calls onLoggedOut once and every request fails with the 401', async (t) => {
  const { client, backend, loggedOut, tokens } = await loggedInClient(t, { refuse: true })
  t.equal(client.accessToken(), null, 'restore() found no session')
  t.equal(loggedOut(), 0, 'a failed restore on page load is not a logout')
  backend.state.refreshCalls = 0

  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_v, i) =>
    client.request('GET', `/api/thing?id=${i}`)))

  t.equal(loggedOut(), 1, 'onLoggedOut called exactly once')
  t.equal(backend.state.refreshCalls, 1, 'one refresh attempt')
  for (const o of outcomes) {
    t.equal(o.status, 'rejected')
    if (o.status === 'rejected') {
      t.ok(o.reason instanceof ApiError)
      t.equal(o.reason.status, 401)
      t.equal(o.reason.code, 'invalid_refresh_token')
    }
  }
  t.equal(client.accessToken(), null)
  t.notOk(tokens.some((tok) => tok !== null), 'never held a token')
})

t.test('401s arriving after the refresh finished are replayed without a second refresh', async (t) => {
  const { client, backend } = await loggedInClient(t)
  backend.state.current = 'rotated-elsewhere'
  backend.state.refreshCalls = 0
  const first = client.request('GET', '/api/thing?id=a')
  await first
  const later = await Promise.all([client.request('GET', '/api/thing?id=b'), client.request('GET', '/api/thing?id=c')])
  t.equal(later.length, 2)
  t.equal(backend.state.refreshCalls, 1)
  t.equal(backend.state.hits.get('b'), 1, 'sent with the new token straight away')
})

t.test('a 401 that arrives after another request\'s refresh finished is replayed ' +
  'with that refresh\'s token', async (t) => {
  const { client, backend, loggedOut } = await loggedInClient(t)
  backend.state.current = 'rotated-elsewhere'
  backend.state.refreshCalls = 0
  // Both go out with token-2; the slow one is answered only after the fast one refreshed.
  const slow = client.request<{ ok: boolean, id: string }>('GET', '/api/slow?id=slow')
  const fast = await client.request<{ ok: boolean, id: string }>('GET', '/api/thing?id=fast')
  t.same(fast, { ok: true, id: 'fast' })
  t.equal(backend.state.refreshCalls, 1, 'the fast request refreshed')
  t.equal(client.accessToken(), 'token-3')

  backend.releaseSlow()
  t.same(await slow, { ok: true, id: 'slow' }, 'the slow request succeeds on replay')
  t.equal(backend.state.hits.get('slow'), 2, 'sent twice (original + one replay)')
  t.equal(backend.state.refreshCalls, 1, 'one refresh in all')
  t.equal(loggedOut(), 0)
})

t.test('unsafe requests carry the CSRF header and the Bearer token; errors keep the server code', async (t) => {
  const { client, backend } = await loggedInClient(t)
  const res = await client.request<{ ok: boolean }>('POST', '/api/thing?id=p', { body: { a: 1 } })
  t.equal(res.ok, true)
  t.same(backend.state.csrfSeen, [CSRF])

  const err = await client.request('DELETE', '/api/admin-only').catch((e: unknown) => e)
  t.ok(err instanceof ApiError)
  t.match(err, { status: 403, code: 'insufficient_scope', message: 'role admin required' })

  t.equal(await client.request('GET', '/api/empty'), undefined, '204 gives undefined')
})

t.test('a 401 that persists after a successful refresh ends the session', async (t) => {
  // The API refuses every token (as after logout-all), yet refresh still answers.
  const backend = await startBackend(t, { refuseApi: true })
  let loggedOut = 0
  const client = createApiClient({
    baseUrl: backend.url,
    readCsrfToken: () => CSRF,
    onLoggedOut: () => { loggedOut++ },
  })
  t.equal(await client.restore(), true)
  backend.state.refreshCalls = 0
  const err = await client.request('GET', '/api/thing?id=x').catch((e: unknown) => e)
  t.ok(err instanceof ApiError)
  t.equal((err as ApiError).status, 401)
  t.equal(loggedOut, 1)
  t.equal(client.accessToken(), null)
  t.equal(backend.state.refreshCalls, 1, 'one refresh, then one replay, then give up')
  t.equal(backend.state.hits.get('x'), 2)
})
