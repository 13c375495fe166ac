import t from 'tap'
import { COOKIES, REVOCATION, csrfTokenFor } from '../../src/contract.js'
import { build, PASSWORD, refreshBody, session, setCookies, uniqueEmail } from '../helper.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('GET /auth/sessions lists my sessions and marks the current one', async (t) => {
  const { app } = await build(t)
  const email = uniqueEmail()
  const first = await session(app, email)
  const second = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: PASSWORD, tokenDelivery: 'body' },
    headers: { 'user-agent': 'second-device/1.0' },
    remoteAddress: '127.0.0.9',
  })
  const res = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(second.json().accessToken) })
  t.equal(res.statusCode, 200)
  const { sessions } = res.json()
  t.equal(sessions.length, 2)
  const current = sessions.filter((s: { current: boolean }) => s.current)
  t.equal(current.length, 1, 'exactly one is current')
  t.equal(current[0].id, second.json().refreshToken.split('.')[0])
  t.match(current[0], { userAgent: 'second-device/1.0', ip: '127.0.0.9', createdAt: String, lastUsedAt: String })
  t.ok(!Number.isNaN(Date.parse(current[0].createdAt)), 'ISO timestamps')
  t.ok(sessions.some((s: { id: string }) => s.id === first.refreshToken.split('.')[0]))

  const anonymous = await app.inject({ method: 'GET', url: '/auth/sessions' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().error, 'invalid_token')
  t.match(anonymous.headers['www-authenticate'], /^Bearer error="invalid_token"/)
  const forged = await app.inject({
    method: 'GET',
    url: '/auth/sessions',
    headers: bearer(`${second.json().accessToken}x`),
  })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().error, 'invalid_token')
})

t.test('DELETE /auth/sessions/:id: only my own sessions', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const me = await session(app)
  const other = await session(app)
  const otherSid = other.refreshToken.split('.')[0]!

  const denied = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${otherSid}`,
    headers: bearer(me.accessToken),
  })
  t.equal(denied.statusCode, 404)
  t.same(denied.json(), { error: 'not_found', message: 'No such session', statusCode: 404 })
  t.equal((await refreshBody(app, other.refreshToken)).statusCode, 200, "the other user's session still works")

  const mine2 = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: me.user.email, password: PASSWORD, tokenDelivery: 'body' },
  })
  const sid2 = mine2.json().refreshToken.split('.')[0]
  const ended = await app.inject({ method: 'DELETE', url: `/auth/sessions/${sid2}`, headers: bearer(me.accessToken) })
  t.equal(ended.statusCode, 204)
  const r = await refreshBody(app, mine2.json().refreshToken)
  t.equal(r.statusCode, 401, 'ending a session makes its refresh fail')
  t.equal(r.json().error, 'invalid_refresh_token')
  t.ok(await inspect.zscore(REVOCATION.sessionsKey(prefix), sid2), 'its access tokens are recorded as revoked')
  const gone = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(mine2.json().accessToken) })
  t.equal(gone.statusCode, 401, "the ended session's access token no longer works here")
})

t.test('POST /auth/logout-all revokes every session of the user', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const a = await session(app)
  const b = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: a.user.email, password: PASSWORD, tokenDelivery: 'body' },
  })
  const bystander = await session(app)
  const res = await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(a.accessToken) })
  t.equal(res.statusCode, 204)
  t.equal((await refreshBody(app, a.refreshToken)).statusCode, 401)
  t.equal((await refreshBody(app, b.json().refreshToken)).statusCode, 401)
  t.equal((await refreshBody(app, bystander.refreshToken)).statusCode, 200, "another user's session is untouched")
  for (const token of [a.refreshToken, b.json().refreshToken]) {
    t.ok(await inspect.zscore(REVOCATION.sessionsKey(prefix), token.split('.')[0]!), 'each sid in the revoked set')
  }
  const notBefore = Number(await inspect.zscore(REVOCATION.usersKey(prefix), a.user.id))
  t.ok(notBefore > Date.now() - 10_000 && notBefore <= Date.now(), "the user's not-before is recorded")
  const fresh = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: a.user.email, password: PASSWORD },
  })
  t.equal(fresh.statusCode, 200, 'logging in again works')
})

t.test('cookie-authenticated unsafe requests need the CSRF header', async (t) => {
  const { app, keyring } = await build(t)
  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: uniqueEmail(), password: PASSWORD },
  })
  const cookies = setCookies(reg)
  const access = cookies.get(COOKIES.accessToken)!.value
  const csrf = cookies.get(COOKIES.csrfToken)!.value
  const sid = cookies.get(COOKIES.refreshToken)!.value.split('.')[0]!
  t.equal(csrf, csrfTokenFor(sid, keyring.secrets.csrfSecret), 'CSRF cookie is bound to the session')
  const cookie = `${COOKIES.accessToken}=${access}`

  const list = await app.inject({ method: 'GET', url: '/auth/sessions', headers: { cookie } })
  t.equal(list.statusCode, 200, 'safe method with the access cookie: fine')
  const noCsrf = await app.inject({ method: 'DELETE', url: `/auth/sessions/${sid}`, headers: { cookie } })
  t.equal(noCsrf.statusCode, 403)
  t.same(noCsrf.json(), { error: 'csrf_failed', message: 'Missing or wrong CSRF token', statusCode: 403 })
  const wrong = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${sid}`,
    headers: { cookie, 'x-csrf-token': csrfTokenFor('other', keyring.secrets.csrfSecret) },
  })
  t.equal(wrong.statusCode, 403)
  const ok = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${sid}`,
    headers: { cookie, 'x-csrf-token': csrf },
  })
  t.equal(ok.statusCode, 204)
  t.match(String(ok.headers['set-cookie']), /access_token=; Max-Age=0/, 'ending my current session clears my cookies')
})

t.test('POST /auth/logout with only the access token ends that session', async (t) => {
  const { app } = await build(t)
  const s = await session(app)
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(s.accessToken) })
  t.equal(res.statusCode, 204)
  t.equal((await refreshBody(app, s.refreshToken)).statusCode, 401)
  const again = await app.inject({ method: 'POST', url: '/auth/logout' })
  t.equal(again.statusCode, 204, 'logout without any token is a harmless 204')
})
