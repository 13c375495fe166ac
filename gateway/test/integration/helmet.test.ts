import t, { type Test } from 'tap'
import { freePort } from '../../../scripts/testing/ports.js'
import { CSP_DIRECTIVES, HSTS_VALUE } from '../../../services/kernel/security-policy.js'
import { bearer, request, type Res } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { startCountingUpstream } from '../helpers/browser-fixtures.js'

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const jwksUrl = `${jwks.url}/.well-known/jwks.json`
// An upstream with a weaker policy of its own: the gateway's must be the one a browser sees.
const upstream = await startCountingUpstream(t, {
  'content-security-policy': "default-src *; script-src 'unsafe-inline'",
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'unsafe-url',
  'x-content-type-options': 'sniff-away',
  'strict-transport-security': 'max-age=1',
})
const gw = await startGateway(t, { jwksUrl, upstream: upstream.url, config: { trustProxy: ['127.0.0.1'] } })
const token = await signToken(signer)

function assertSecurityHeaders (t: Test, res: Res, what: string): void {
  // helmet joins directives with ';' (no space); a second copy would be joined with ', '.
  const csp = res.headers['content-security-policy'] as string | undefined
  t.equal(csp?.split(';').map((d) => d.trim()).join('; '), CSP, `${what}: the CSP`)
  t.notMatch(csp ?? '', /,/, `${what}: exactly one CSP`)
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
  t.equal(res.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options DENY`)
  t.equal(res.headers['referrer-policy'], 'strict-origin-when-cross-origin', `${what}: Referrer-Policy`)
  t.equal(res.headers['cross-origin-opener-policy'], 'same-origin', `${what}: COOP`)
  t.equal(res.headers['cross-origin-resource-policy'], 'same-origin', `${what}: CORP`)
  t.equal(res.headers['strict-transport-security'], undefined, `${what}: no HSTS over plain HTTP`)
}

t.test('the CSP is the documented one', async (t) => {
  t.equal(Object.entries(CSP_DIRECTIVES).map(([k, v]) => `${k} ${v.join(' ')}`).join('; '), CSP)
})

t.test('on the gateway\'s own responses', async (t) => {
  for (const path of ['/healthz', '/readyz', '/metrics']) assertSecurityHeaders(t, await request(gw.url, path), path)
})

t.test('on proxied responses, over the upstream\'s own values', async (t) => {
  const before = upstream.hits()
  const res = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(res.status, 200)
  t.equal(upstream.hits(), before + 1, 'it was proxied')
  assertSecurityHeaders(t, res, 'proxied /api/orders')
  assertSecurityHeaders(t, await request(gw.url, '/orders'), 'proxied web page')
  assertSecurityHeaders(t, await request(gw.url, '/.well-known/jwks.json'), 'proxied JWKS')
})

t.test('on error responses', async (t) => {
  const cases: Array<{
    d: string,
    path: string,
    status: number,
    headers?: Array<[string, string]>,
    method?: string,
  }> = [
    { d: '401 no token', path: '/api/orders', status: 401 },
    { d: '401 bad token', path: '/api/orders', status: 401, headers: [['Authorization', 'Bearer x.y.z']] },
    { d: '403 missing role', path: '/api/orders/1', status: 403, method: 'DELETE', headers: [bearer(token)] },
    {
      d: '403 CSRF',
      path: '/api/orders',
      status: 403,
      method: 'POST',
      headers: [['Cookie', `access_token=${token}`], ['Origin', 'http://evil.test']],
    },
    { d: '404 unknown API path', path: '/api/nothing-here', status: 404 },
    {
      d: '204 preflight',
      path: '/api/orders',
      status: 204,
      method: 'OPTIONS',
      headers: [['Origin', 'http://evil.test'], ['Access-Control-Request-Method', 'POST']],
    },
  ]
  for (const c of cases) {
    const res = await request(gw.url, c.path, { method: c.method ?? 'GET', headers: c.headers })
    t.equal(res.status, c.status, `${c.d}: status`)
    if (c.status >= 400) t.type(res.json?.error, 'string', `${c.d}: JSON error body`)
    assertSecurityHeaders(t, res, c.d)
  }
})

t.test('on a 502 when the upstream is down', async (t) => {
  const down = await startGateway(t, { jwksUrl, upstream: `http://127.0.0.1:${await freePort()}` })
  const res = await request(down.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(res.status, 502)
  t.equal(res.json.error, 'bad_gateway')
  assertSecurityHeaders(t, res, '502')
})

t.test('HSTS only when the request came over HTTPS', async (t) => {
  const viaTls = await request(gw.url, '/api/orders', { headers: [bearer(token), ['X-Forwarded-Proto', 'https']] })
  t.equal(
    viaTls.headers['strict-transport-security'],
    HSTS_VALUE,
    'HTTPS at a trusted proxy in front: HSTS, ours not the upstream\'s'
  )
  const ownHttps = await request(gw.url, '/healthz', { headers: [['X-Forwarded-Proto', 'https']] })
  t.equal(ownHttps.headers['strict-transport-security'], HSTS_VALUE, 'also on the gateway\'s own answers')

  const edge = await startGateway(t, { jwksUrl, upstream: upstream.url })
  const spoofed = await request(edge.url, '/healthz', { headers: [['X-Forwarded-Proto', 'https']] })
  t.equal(
    spoofed.headers['strict-transport-security'], undefined, 'x-forwarded-proto from an untrusted peer does not count'
  )
})
