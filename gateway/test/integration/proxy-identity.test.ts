import t from 'tap'
import { decodeJwt } from 'jose'
import { isIdentityHeaderName } from '../../src/contract.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const echo = await startEchoUpstream(t)
const gw = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url })
const sid = 'sid-proxy-1'
const token = await signToken(signer, { claims: { sub: 'user-42', sid, roles: ['user', 'support'] } })

/** Identity-looking header names and values the upstream received, from its raw header list. */
function identityHeadersSeen (rawHeaders: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (
      isIdentityHeaderName(rawHeaders[i] as string)
    ) out.push([(rawHeaders[i] as string).toLowerCase(), rawHeaders[i + 1] as string])
  }
  return out.sort()
}

t.test('GET /api/orders/:id', async (t) => {
  t.test('forwards to /orders/:id with the identity from the token and without credentials', async (t) => {
    const res = await request(gw.url, '/api/orders/42?x=1', {
      headers: [
        bearer(token),
        ['Cookie', `theme=dark; access_token=${token}; refresh_token=rt.secret; csrf_token=c1; lang=en`],
        ['X-Forwarded-For', '6.6.6.6'],
        ['Forwarded', 'for=6.6.6.6'],
      ],
    })
    t.equal(res.status, 200)
    const seen = res.json
    t.equal(seen.url, '/orders/42?x=1')
    t.equal(seen.headers['x-user-id'], 'user-42')
    t.equal(seen.headers['x-user-roles'], 'user,support')
    t.equal(seen.headers['x-session-id'], sid)
    t.equal(seen.headers.authorization, undefined, 'no Authorization upstream')
    t.equal(seen.headers.cookie, 'theme=dark; lang=en', 'auth cookies removed, others kept')
    t.equal(
      seen.headers['x-forwarded-for'], '127.0.0.1', 'client x-forwarded-for replaced by the address the gateway saw'
    )
    t.equal(seen.headers.forwarded, undefined)
    t.match(seen.headers['x-request-id'], /^[0-9a-f-]{36}$/)
    t.equal(res.headers['x-request-id'], seen.headers['x-request-id'], 'request id echoed to the client')
  })

  t.test('a cookie-only request is authenticated from the access cookie', async (t) => {
    const res = await request(gw.url, '/api/orders', { headers: [['Cookie', `access_token=${token}`]] })
    t.equal(res.status, 200)
    t.equal(res.json.headers['x-user-id'], 'user-42')
    t.equal(res.json.headers.cookie, undefined, 'no cookie header left')
  })
})

t.test('spoofed identity headers never reach an upstream', async (t) => {
  const spoofs: Array<{ d: string, headers: Array<[string, string]> }> = [
    { d: 'plain x-user-id', headers: [['x-user-id', 'evil']] },
    { d: 'mixed-case X-User-Roles', headers: [['X-User-Roles', 'admin']] },
    { d: 'underscore x_user_id', headers: [['x_user_id', 'evil']] },
    { d: 'underscore X_USER_ROLES', headers: [['X_USER_ROLES', 'admin']] },
    { d: 'x-session-id', headers: [['x-session-id', 'evil-sid']] },
    { d: 'x_session_id', headers: [['x_session_id', 'evil-sid']] },
    { d: 'duplicates of x-user-id', headers: [['X-User-Id', 'a'], ['x-user-id', 'b'], ['X-USER-ID', 'c']] },
    { d: 'any other x-user-* name', headers: [['X-User-Email', 'root@example.com']] },
    { d: 'Connection naming x-user-id', headers: [['Connection', 'x-user-id, keep-alive'], ['x-user-id', 'evil']] },
    { d: 'a forged x-identity-token', headers: [['X-Identity-Token', 'eyJhbGciOiJub25lIn0.e30.']] },
    { d: 'x_identity_token', headers: [['x_identity_token', 'eyJhbGciOiJub25lIn0.e30.']] },
  ]
  const routes = [
    { d: 'public web route', path: '/some/page', auth: false },
    { d: 'public auth route', path: '/auth/login', auth: false },
    { d: 'protected route without a token (401, nothing forwarded)', path: '/api/users/me', auth: false, denied: true },
    { d: 'protected route with a token', path: '/api/users/me', auth: true },
  ]
  for (const route of routes) {
    for (const spoof of spoofs) {
      t.test(`${route.d}: ${spoof.d}`, async (t) => {
        const headers = [...(route.auth ? [bearer(token)] : []), ...spoof.headers]
        const res = await request(gw.url, route.path, { headers })
        if (route.denied) {
          t.equal(res.status, 401)
          t.equal(res.json.error, 'invalid_token')
          return
        }
        t.equal(res.status, 200)
        const all = identityHeadersSeen(res.json.rawHeaders)
        const assertions = all.filter(([name]) => name === 'x-identity-token').map(([, value]) => value)
        const seen = all.filter(([name]) => name !== 'x-identity-token')
        const expected: Array<[string, string]> = route.auth
          ? [['x-session-id', sid], ['x-user-id', 'user-42'], ['x-user-roles', 'user,support']]
          : []
        t.same(seen, expected.sort(), 'only the identity the gateway wrote')
        t.equal(assertions.length, route.auth ? 1 : 0, 'the gateway\'s own assertion only, when it has an identity')
        if (route.auth) t.equal(decodeJwt(assertions[0]!).sub, 'user-42', 'signed for the verified identity')
      })
    }
  }
})

t.test('POST /auth/* gets the Authorization header and cookies (the auth service needs them)', async (t) => {
  const res = await request(gw.url, '/auth/refresh', {
    method: 'POST',
    headers: [
      bearer(token),
      ['Cookie', 'refresh_token=rt.secret'],
      ['Content-Type', 'application/json'],
      ['x-user-id', 'evil'],
      ['Origin', 'http://127.0.0.1:8080'],
    ],
    body: '{"a":1}',
  })
  t.equal(res.status, 200)
  t.equal(res.json.url, '/auth/refresh')
  t.equal(res.json.headers.authorization, `Bearer ${token}`)
  t.equal(res.json.headers.cookie, 'refresh_token=rt.secret')
  t.equal(res.json.headers['x-user-id'], undefined)
  t.same(res.json.body, { a: 1 }, 'body forwarded')
  t.equal(res.json.headers['x-forwarded-for'], '127.0.0.1')
})

t.test('GET /.well-known/jwks.json goes to the auth service, nothing below it does', async (t) => {
  const res = await request(gw.url, '/.well-known/jwks.json')
  t.equal(res.status, 200)
  t.equal(res.json.url, '/.well-known/jwks.json')
})

t.test('x-request-id', async (t) => {
  const kept = await request(gw.url, '/api/orders', { headers: [bearer(token), ['X-Request-Id', 'client-req:42']] })
  t.equal(kept.json.headers['x-request-id'], 'client-req:42', 'a well-formed id is kept')
  t.equal(kept.headers['x-request-id'], 'client-req:42')
  const replaced = await request(
    gw.url, '/api/orders', { headers: [bearer(token), ['X-Request-Id', 'bad id <script>']] }
  )
  t.match(replaced.json.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a malformed one is replaced')
  t.equal(replaced.headers['x-request-id'], replaced.json.headers['x-request-id'])
  const twice = await request(
    gw.url, '/api/orders', { headers: [bearer(token), ['X-Request-Id', 'a1'], ['X-Request-Id', 'a2']] }
  )
  t.match(twice.json.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'two of them are replaced')
  const denied = await request(gw.url, '/api/orders', { headers: [['X-Request-Id', 'denied-1']] })
  t.equal(denied.status, 401)
  t.equal(denied.headers['x-request-id'], 'denied-1', 'also on errors')
})

t.test('unknown paths', async (t) => {
  for (const path of ['/api', '/api/unknown', '/api/orders-x', '/api/unknown/deeper']) {
    const res = await request(gw.url, path, { headers: [bearer(token)] })
    t.equal(res.status, 404, `${path} is 404`)
    t.equal(res.json.error, 'not_found', `${path} has a JSON body`)
    t.type(res.json.message, 'string')
  }
  const spa = await request(gw.url, '/dashboard/settings')
  t.equal(spa.status, 200, 'other paths go to the web app')
  t.equal(spa.json.url, '/dashboard/settings')
  const odd = await request(gw.url, '/x', { method: 'PROPFIND' })
  t.equal(odd.status, 404)
  t.equal(odd.json.error, 'not_found')
})

t.test('GET /healthz and /metrics', async (t) => {
  const health = await request(gw.url, '/healthz')
  t.equal(health.status, 200)
  t.same(health.json, { status: 'ok' })
  const metrics = await request(gw.url, '/metrics')
  t.equal(metrics.status, 200)
  t.match(metrics.headers['content-type'], /text\/plain/)
  t.match(metrics.text, /gateway_requests_total\{route="orders",method="GET",status="200"\} \d+/)
  t.match(metrics.text, /gateway_token_verifications_total\{outcome="denied",reason="missing_token"\} \d+/)
  t.match(metrics.text, /gateway_jwks_keys 1/)
  t.match(metrics.text, new RegExp(`gateway_jwks_key_age_seconds\\{kid="${signer.kid}"\\}`))
  t.match(metrics.text, /gateway_revoked_sessions 0/)
})

t.test('logs: one line per request, tokens and cookies never written', async (t) => {
  const res = await request(
    gw.url, '/api/orders/log-check', { headers: [bearer(token), ['Cookie', 'refresh_token=rt.secret-value']] }
  )
  t.equal(res.status, 200)
  const id = res.headers['x-request-id'] as string
  const lines = gw.logs.filter((l) => l.includes(`"reqId":"${id}"`))
  t.equal(lines.length, 1, 'exactly one line for the request')
  t.match(JSON.parse(lines[0] as string), {
    method: 'GET', url: '/api/orders/log-check', statusCode: 200, msg: 'request completed'
  })
  const all = gw.logs.join('\n')
  t.notOk(all.includes(token), 'no access token in any log line')
  t.notOk(all.includes(token.split('.')[2] as string), 'not even its signature')
  t.notOk(all.includes('rt.secret-value'), 'no cookie value in any log line')
})

t.test('TRUST_PROXY: x-forwarded-for from a trusted proxy is used, then replaced by the client address', async (t) => {
  const behind = await startGateway(
    t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url, config: { trustProxy: ['127.0.0.1'] } }
  )
  const res = await request(behind.url, '/api/orders', {
    headers: [bearer(token), ['X-Forwarded-For', '198.51.100.7, 203.0.113.9'], ['X-Forwarded-Proto', 'https']]
  })
  t.equal(res.status, 200)
  t.equal(res.json.headers['x-forwarded-for'], '203.0.113.9', 'the address the trusted proxy saw')
  t.equal(res.json.headers['x-forwarded-proto'], 'https')
})
