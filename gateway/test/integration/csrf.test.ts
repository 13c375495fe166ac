import t, { type Test } from 'tap'
import { bearer, request } from '../../../scripts/testing/http.js'
import { createSigner, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { cookieSession, startCountingUpstream } from '../helpers/browser-fixtures.js'

const OWN = 'http://gateway.test'
const PARTNER = 'http://partner.test'
const FOREIGN = 'http://evil.test'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const upstream = await startCountingUpstream(t)
const gw = await startGateway(t, {
  jwksUrl: `${jwks.url}/.well-known/jwks.json`,
  upstream: upstream.url,
  config: { gatewayPublicOrigins: [OWN], corsOrigins: [PARTNER] },
})
const session = await cookieSession(signer, gw.config.csrfSecret, 'sid-csrf-1')
const other = await cookieSession(signer, gw.config.csrfSecret, 'sid-csrf-other')
const json: [string, string] = ['Content-Type', 'application/json']

async function refused (
  t: Test,
  path: string,
  method: string,
  headers: Array<[string, string]>,
  reason: string,
  message: RegExp
): Promise<void> {
  const before = upstream.hits()
  const logsBefore = gw.logs.length
  const res = await request(gw.url, path, { method, headers: [json, ...headers], body: '{"item":"x","quantity":1}' })
  t.equal(res.status, 403, 'status 403')
  t.same(Object.keys(res.json ?? {}).sort(), ['error', 'message', 'statusCode'])
  t.equal(res.json?.error, 'csrf_failed', 'error csrf_failed')
  t.match(res.json?.message, message, 'message says what is wrong')
  t.equal(upstream.hits(), before, 'the upstream was not reached')
  const logged = gw.logs.slice(logsBefore).map((l) => JSON.parse(l)).find((l) => l.msg === 'csrf check failed')
  t.equal(logged?.reason, reason, `logged with reason ${reason}`)
  t.notMatch(gw.logs.slice(logsBefore).join(''), session.token, 'the token is not logged')
}

t.test('cookie-authenticated unsafe requests to /api', async (t) => {
  const TOKEN_MESSAGE = /CSRF token/
  const cases: Array<{
    d: string,
    headers: Array<[string, string]>,
    reason: string,
    message: RegExp,
    method?: string,
  }> = [
    {
      d: 'no CSRF header',
      headers: [['Cookie', session.cookie], ['Origin', OWN]],
      reason: 'csrf_missing',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'no CSRF cookie',
      headers: [['Cookie', `access_token=${session.token}`], ['x-csrf-token', session.csrf], ['Origin', OWN]],
      reason: 'csrf_missing',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'an empty CSRF header',
      headers: [['Cookie', session.cookie], ['x-csrf-token', ''], ['Origin', OWN]],
      reason: 'csrf_missing',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'a header that is not the cookie',
      headers: [['Cookie', session.cookie], ['x-csrf-token', 'wrong-token'], ['Origin', OWN]],
      reason: 'csrf_mismatch',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'two CSRF headers',
      headers: [
        ['Cookie', session.cookie], ['x-csrf-token', session.csrf], ['x-csrf-token', session.csrf], ['Origin', OWN]
      ],
      reason: 'csrf_mismatch',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'header and cookie agree but belong to another session (a planted cookie)',
      headers: [
        ['Cookie', `access_token=${session.token}; csrf_token=${other.csrf}`],
        ['x-csrf-token', other.csrf],
        ['Origin', OWN],
      ],
      reason: 'csrf_wrong_session',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'a foreign Origin with a correct token',
      headers: [['Cookie', session.cookie], ['x-csrf-token', session.csrf], ['Origin', FOREIGN]],
      reason: 'origin_not_allowed',
      message: /origin is not allowed/,
    },
    {
      d: 'Origin: null (sandboxed or privacy-redirected)',
      headers: [['Cookie', session.cookie], ['x-csrf-token', session.csrf], ['Origin', 'null']],
      reason: 'origin_not_allowed',
      message: /origin/,
    },
    {
      d: 'no Origin and a foreign Referer',
      headers: [['Cookie', session.cookie], ['x-csrf-token', session.csrf], ['Referer', `${FOREIGN}/page`]],
      reason: 'origin_not_allowed',
      message: /origin/,
    },
    {
      d: 'neither Origin nor Referer',
      headers: [['Cookie', session.cookie], ['x-csrf-token', session.csrf]],
      reason: 'origin_not_allowed',
      message: /origin/,
    },
    {
      d: 'DELETE without a CSRF header',
      method: 'DELETE',
      headers: [['Cookie', session.cookie], ['Origin', OWN]],
      reason: 'csrf_missing',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'PATCH without a CSRF header',
      method: 'PATCH',
      headers: [['Cookie', session.cookie], ['Origin', OWN]],
      reason: 'csrf_missing',
      message: TOKEN_MESSAGE,
    },
    {
      d: 'PUT with a foreign Origin',
      method: 'PUT',
      headers: [['Cookie', session.cookie], ['x-csrf-token', session.csrf], ['Origin', FOREIGN]],
      reason: 'origin_not_allowed',
      message: /origin/,
    },
  ]
  for (const c of cases) {
    await t.test(`refused: ${c.d}`, async (t) => {
      await refused(t, '/api/payments', c.method ?? 'POST', c.headers, c.reason, c.message)
    })
  }

  const passes: Array<{ d: string, headers: Array<[string, string]> }> = [
    { d: 'header = cookie = the session\'s token, own Origin', headers: [['Origin', OWN]] },
    { d: 'a CORS origin', headers: [['Origin', PARTNER]] },
    { d: 'no Origin, a Referer from our own origin', headers: [['Referer', `${OWN}/orders?x=1`]] },
  ]
  for (const p of passes) {
    await t.test(`passes: ${p.d}`, async (t) => {
      const before = upstream.hits()
      const res = await request(gw.url, '/api/orders', {
        method: 'POST',
        headers: [json, ['Cookie', session.cookie], ['x-csrf-token', session.csrf], ...p.headers],
        body: '{}',
      })
      t.equal(res.status, 200)
      t.equal(res.json.url, '/orders')
      t.equal(res.json.headers['x-session-id'], session.sid)
      t.equal(upstream.hits(), before + 1, 'forwarded once')
    })
  }

  await t.test('safe methods need no CSRF token', async (t) => {
    const res = await request(
      gw.url, '/api/orders', { headers: [['Cookie', `access_token=${session.token}`], ['Origin', FOREIGN]] }
    )
    t.equal(res.status, 200)
  })

  await t.test('Bearer-authenticated requests skip the check (no header, no Origin, or a foreign one)', async (t) => {
    for (const extra of [[], [['Origin', FOREIGN]]] as Array<Array<[string, string]>>) {
      const res = await request(
        gw.url, '/api/orders', { method: 'POST', headers: [json, bearer(session.token), ...extra], body: '{}' }
      )
      t.equal(res.status, 200)
      t.equal(res.json.method, 'POST')
    }
  })
})

t.test('/auth calls that carry a session cookie check the Origin before proxying', async (t) => {
  for (const path of ['/auth/refresh', '/auth/logout', '/auth/logout-all', '/auth/sessions/abc', '/auth/%72efresh']) {
    const method = path.startsWith('/auth/sessions') ? 'DELETE' : 'POST'
    await t.test(`${method} ${path}: a foreign Origin is refused`, async (t) => {
      await refused(
        t,
        path,
        method,
        [['Cookie', 'refresh_token=fam.secret'], ['Origin', FOREIGN]],
        'origin_not_allowed',
        /origin is not allowed/
      )
    })
  }
  await t.test('the access cookie alone counts too', async (t) => {
    await refused(
      t,
      '/auth/logout-all',
      'POST',
      [['Cookie', `access_token=${session.token}`], ['Referer', `${FOREIGN}/x`]],
      'origin_not_allowed',
      /origin/
    )
  })
  await t.test('own and CORS origins are forwarded with the cookie', async (t) => {
    for (const origin of [OWN, PARTNER]) {
      const before = upstream.hits('/auth/refresh')
      const res = await request(gw.url, '/auth/refresh', {
        method: 'POST', headers: [json, ['Cookie', 'refresh_token=fam.secret'], ['Origin', origin]], body: '{}'
      })
      t.equal(res.status, 200)
      t.equal(res.json.headers.cookie, 'refresh_token=fam.secret')
      t.equal(upstream.hits('/auth/refresh'), before + 1)
    }
  })
  await t.test('no session cookie (body-mode refresh), or login/register: nothing to forge, forwarded', async (t) => {
    for (
      const [path, cookie] of [
        ['/auth/refresh', []],
        ['/auth/login', [['Cookie', 'refresh_token=fam.secret']]],
        ['/auth/register', [['Cookie', 'refresh_token=fam.secret']]],
      ] as Array<[string, Array<[string, string]>]>
    ) {
      const res = await request(
        gw.url, path, { method: 'POST', headers: [json, ['Origin', FOREIGN], ...cookie], body: '{"refreshToken":"x"}' }
      )
      t.equal(res.status, 200, path)
      t.equal(res.json.url, path)
    }
  })
})
