import t from 'tap'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const echo = await startEchoUpstream(t)
const gw = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url })
const token = await signToken(signer)

t.test('odd requests get a 4xx JSON answer or a clean proxy, never a 500', async (t) => {
  const cases: Array<{ d: string, path: string, method?: string, headers?: Array<[string, string]>, body?: string }> = [
    { d: 'path traversal out of the rewrite prefix', path: '/api/orders/../../admin' },
    { d: 'traversal with a token', path: '/api/orders/../../admin', headers: [bearer(token)] },
    { d: 'traversal from a public route into the API', path: '/auth/../api/orders' },
    { d: 'traversal from the catch-all into the API', path: '/x/../api/orders' },
    { d: 'traversal under /api', path: '/api/../admin' },
    { d: 'encoded traversal', path: '/api/orders/..%2f..%2fadmin' },
    { d: 'bad percent-encoding', path: '/api/orders/%zz' },
    { d: 'a very long path segment', path: `/api/orders/${'a'.repeat(5000)}` },
    {
      d: 'a huge Authorization header',
      path: '/api/orders',
      headers: [['Authorization', `Bearer ${'a'.repeat(60_000)}`]],
    },
    {
      d: 'a Cookie header full of junk',
      path: '/api/orders',
      headers: [bearer(token), ['Cookie', ';;;=;access_token;=x; ;']],
    },
    {
      d: 'a POST body with a bogus content type',
      path: '/api/orders',
      method: 'POST',
      headers: [bearer(token), ['Content-Type', 'text/x-nonsense']],
      body: '\u0000\u0001',
    },
    {
      d: 'a malformed JSON body (passed through for the service to judge)',
      path: '/api/orders',
      method: 'POST',
      headers: [bearer(token), ['Content-Type', 'application/json']],
      body: '{"a":',
    },
    { d: 'an OPTIONS request', path: '/api/orders', method: 'OPTIONS', headers: [bearer(token)] },
  ]
  for (const c of cases) {
    const res = await request(gw.url, c.path, { method: c.method, headers: c.headers, body: c.body })
    t.ok(res.status < 500, `${c.d}: ${res.status}`)
    if (c.d.startsWith('traversal')) t.ok(res.status >= 400, `${c.d}: refused`)
    if (res.status >= 400) {
      t.type(res.json?.error, 'string', `${c.d}: JSON error body`)
      t.notOk(res.text.includes('    at '), `${c.d}: no stack trace`)
    }
  }
})
