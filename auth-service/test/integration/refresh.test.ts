import t from 'tap'
import { Redis } from 'ioredis'
import { REVOCATION, parseRevocationMessage, type RevocationMessage } from '../../src/contract.js'
import { build, refreshBody, session } from '../helper.js'
import { sleep, waitFor } from '../../../scripts/testing/wait.js'

t.test('POST /auth/refresh rejects a reused token after the grace and revokes the family', async (t) => {
  let clock = Date.now()
  const { app, inspect, prefix, redisUrl } = await build(t, { REFRESH_REUSE_GRACE: '1' }, { now: () => clock })
  const sub = new Redis(redisUrl)
  t.teardown(() => sub.disconnect())
  const messages: RevocationMessage[] = []
  sub.on('message', (_channel, raw) => { const m = parseRevocationMessage(raw); if (m) messages.push(m) })
  await sub.subscribe(REVOCATION.channel(prefix))

  const s = await session(app)
  const sid = s.refreshToken.split('.')[0]!
  const ttl = await inspect.pttl(`${prefix}rt:{${sid}}`)
  t.ok(ttl > 0 && ttl <= 7 * 24 * 3600 * 1000, 'a new family is written with its expiry (REFRESH_TOKEN_TTL)')
  const first = await refreshBody(app, s.refreshToken)
  t.equal(first.statusCode, 200)
  const newest = first.json().refreshToken as string
  clock += 1300 // past the 1 s grace, on the sessions' clock

  const before = clock
  const reused = await refreshBody(app, s.refreshToken)
  t.equal(reused.statusCode, 401)
  t.same(reused.json(),
    {
      error: 'refresh_token_reused',
      message: 'Refresh token was already used; the session has been revoked',
      statusCode: 401,
    })
  t.match(reused.json().message, /revoked/)

  t.equal(await inspect.exists(`${prefix}rt:{${sid}}`), 0, 'the family is gone')
  const newestRes = await refreshBody(app, newest)
  t.equal(newestRes.statusCode, 401, 'its newest token no longer works')
  t.equal(newestRes.json().error, 'invalid_refresh_token')

  const score = await inspect.zscore(REVOCATION.sessionsKey(prefix), sid)
  t.ok(score, 'sid is in the revoked-sessions sorted set')
  t.ok(Number(score) >= before + 900_000, 'kept at least as long as the last access token lives')
  await waitFor(() => messages.length > 0, 2000, 'the revocation message')
  t.match(messages, [{ type: 'session', sid, until: Number(score) }], 'published on the revocation channel')
})

t.test('grace: 50 parallel refreshes with one token share one successor', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const s = await session(app)
  const sid = s.refreshToken.split('.')[0]!
  const genBefore = await inspect.hget(`${prefix}rt:{${sid}}`, 'gen')
  const results = await Promise.all(Array.from({ length: 50 }, () => refreshBody(app, s.refreshToken)))
  t.same(results.map((r) => r.statusCode), Array(50).fill(200), 'all 200')
  const successors = new Set(results.map((r) => r.json().refreshToken))
  t.equal(successors.size, 1, 'one and the same successor')
  t.not([...successors][0], s.refreshToken)
  const genAfter = await inspect.hget(`${prefix}rt:{${sid}}`, 'gen')
  t.equal(Number(genAfter), Number(genBefore) + 1, 'the family advanced by exactly one generation')
  // The family did not fork: the successor rotates normally, and the original is now two behind.
  const next = await refreshBody(app, [...successors][0])
  t.equal(next.statusCode, 200)
  const stale = await refreshBody(app, s.refreshToken)
  t.equal(stale.statusCode, 401)
  t.equal(stale.json().error, 'refresh_token_reused')
})

t.test('forgery: a made-up secret with a real family id is only a 401', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const s = await session(app)
  const sid = s.refreshToken.split('.')[0]!
  const forged = `${sid}.${'A'.repeat(43)}`
  const res = await refreshBody(app, forged)
  t.equal(res.statusCode, 401)
  t.same(res.json(),
    { error: 'invalid_refresh_token', message: 'Refresh token is missing, invalid or expired', statusCode: 401 })
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refreshToken: forged } })
  t.equal(logout.statusCode, 204, 'logout with a forged token answers like any logout')
  t.equal(await inspect.zscore(REVOCATION.sessionsKey(prefix), sid), null, 'nothing revoked')
  const real = await refreshBody(app, s.refreshToken)
  t.equal(real.statusCode, 200, 'the real session still refreshes')

  for (const [d, token] of [['garbage', 'not-a-token'], ['empty', ''],
    ['unknown family', `${'B'.repeat(22)}.${'C'.repeat(43)}`]]) {
    const r = await refreshBody(app, token!)
    t.equal(r.statusCode, token === '' ? 400 : 401, d!)
    t.ok(r.json().error, `${d}: JSON error body`)
  }
})

t.test('sliding lifetime: an unused session expires after REFRESH_TOKEN_TTL', async (t) => {
  const { app } = await build(t, { REFRESH_TOKEN_TTL: '1', SESSION_MAX_AGE: '10' })
  const s = await session(app)
  await sleep(600)
  const used = await refreshBody(app, s.refreshToken)
  t.equal(used.statusCode, 200, 'used within the window: alive, window slides')
  await sleep(600)
  const again = await refreshBody(app, used.json().refreshToken)
  t.equal(again.statusCode, 200, 'still alive 1.2 s after login because it slid')
  await sleep(1300)
  const late = await refreshBody(app, again.json().refreshToken)
  t.equal(late.statusCode, 401, 'idle longer than the TTL: gone')
  t.equal(late.json().error, 'invalid_refresh_token')
})

t.test('absolute lifetime: SESSION_MAX_AGE ends a session even in use', async (t) => {
  const { app } = await build(t, { REFRESH_TOKEN_TTL: '2', SESSION_MAX_AGE: '2' })
  const s = await session(app)
  let token = s.refreshToken
  for (let i = 0; i < 3; i++) {
    await sleep(500)
    const r = await refreshBody(app, token)
    t.equal(r.statusCode, 200, `refresh at ${(i + 1) * 0.5} s`)
    token = r.json().refreshToken
  }
  await sleep(700)
  const late = await refreshBody(app, token)
  t.equal(late.statusCode, 401, 'past the absolute cap although refreshed recently')
  t.equal(late.json().error, 'invalid_refresh_token')
})

t.test('cookie refresh with a bad cookie clears the cookies', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: 'refresh_token=nope' } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().error, 'invalid_refresh_token')
  t.match(String(res.headers['set-cookie']), /refresh_token=; Max-Age=0; Path=\/auth/)
})

t.test('a cookie refresh with an empty JSON body works; __proto__ bodies are refused', async (t) => {
  const { app } = await build(t)
  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: `p-${Date.now()}@example.test`, password: 'correct horse battery' },
  })
  const cookie = String(reg.headers['set-cookie']).match(/refresh_token=[^;]+/)![0]
  const res = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie, 'content-type': 'application/json' },
    payload: '',
  })
  t.equal(res.statusCode, 200)
  const empty = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: '',
  })
  t.equal(empty.statusCode, 400)
  t.match(empty.json(), { error: 'invalid_request', message: /email/ })
  const poisoned = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { 'content-type': 'application/json' },
    payload: '{"__proto__":{"x":1}}',
  })
  t.equal(poisoned.statusCode, 400)
  t.equal(poisoned.json().error, 'invalid_request')
})
