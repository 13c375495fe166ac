/**
 * The API client with a DPoP prover: login, refresh and every call with a DPoP token carry a
 * proof (checked here by the kernel's real verifier against the backend's own URL), calls use
 * `Authorization: DPoP`; a Bearer session sends no proofs on calls.
 */
import t from 'tap'
import Fastify from 'fastify'
import { createApiClient, type ApiClient } from '../app/api-client.js'
import { normaliseHtu, verifyDpopProof } from '../../kernel/dpop.js'
import { createDpopKey, makeProof } from '../../../scripts/testing/dpop.js'

const key = await createDpopKey()
const seen: Array<{ path: string, authorization?: string, jkt?: string, error?: string }> = []
const app = Fastify()
let tokenType = 'DPoP'
app.addHook('onRequest', async (request) => {
  const proof = request.headers.dpop
  const authorization = request.headers.authorization
  const entry: (typeof seen)[number] = { path: request.url, authorization }
  if (typeof proof === 'string') {
    const token = authorization?.startsWith('DPoP ') ? authorization.slice(5) : undefined
    try {
      const url = normaliseHtu(`http://${request.headers.host}${request.url}`)!
      const expect = { method: request.method, urls: [url], accessToken: token, windowS: 60 }
      entry.jkt = (await verifyDpopProof(proof, expect)).jkt
    } catch (err) { entry.error = (err as Error).message }
  }
  seen.push(entry)
})
app.post('/auth/login', async () => ({ accessToken: 'tok-1', tokenType, expiresIn: 5, user: { id: 'u1' } }))
app.post('/auth/refresh', async () => ({ accessToken: 'tok-2', tokenType, expiresIn: 5 }))
app.get('/api/thing', async (request, reply) =>
  request.headers.authorization?.endsWith('tok-2') ? { ok: true } : reply.code(401).send({ error: 'invalid_token' }))
const base = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())

const client = (): ApiClient => createApiClient({
  baseUrl: base,
  dpop: Promise.resolve((htm, htu, accessToken) => makeProof(key, { htm, htu, accessToken })),
})

t.test('a DPoP session: proofs on login, refresh and calls; the DPoP scheme', async (t) => {
  seen.length = 0
  const api = client()
  t.equal((await api.login('a@example.test', 'pw')).tokenType, 'DPoP')
  t.same(await api.request('GET', '/api/thing'), { ok: true }, 'a 401, a refresh, the call again')
  t.match(seen, [
    { path: '/auth/login', authorization: undefined, jkt: key.jkt, error: undefined },
    { path: '/api/thing', authorization: 'DPoP tok-1', jkt: key.jkt, error: undefined },
    { path: '/auth/refresh', authorization: undefined, jkt: key.jkt, error: undefined },
    { path: '/api/thing', authorization: 'DPoP tok-2', jkt: key.jkt, error: undefined },
  ], 'every proof verifies against the URL it was sent to (ath on calls)')
  t.equal(seen.length, 4)
})

t.test('a Bearer session (the server ignored the proof): calls go as Bearer with no proof', async (t) => {
  seen.length = 0
  tokenType = 'Bearer'
  t.teardown(() => { tokenType = 'DPoP' })
  const api = client()
  await api.login('a@example.test', 'pw')
  await api.request('GET', '/api/thing')
  const calls = seen.filter((s) => s.path === '/api/thing')
  t.same(calls.map((c) => c.authorization), ['Bearer tok-1', 'Bearer tok-2'])
  t.same(calls.map((c) => c.jkt), [undefined, undefined], 'no proof on Bearer calls')
})

t.test('webSocketProtocols: a DPoP session offers a proof for the socket URL and its token; Bearer none', async (t) => {
  const api = client()
  await api.login('a@example.test', 'pw')
  const [proof, token, ...rest] = await api.webSocketProtocols('/api/orders/live')
  t.same(rest, [])
  t.equal(token, 'token.tok-1', 'the in-memory token, so the proof\'s ath matches it')
  t.match(proof, /^dpop\./)
  const verified = await verifyDpopProof(proof!.slice(5), {
    method: 'GET', urls: [normaliseHtu(`${base}/api/orders/live`)!], accessToken: 'tok-1', windowS: 60,
  })
  t.equal(verified.jkt, key.jkt)
  tokenType = 'Bearer'
  t.teardown(() => { tokenType = 'DPoP' })
  const bearer = client()
  await bearer.login('a@example.test', 'pw')
  t.same(await bearer.webSocketProtocols('/api/orders/live'), [], 'the browser sends the access cookie instead')
})
