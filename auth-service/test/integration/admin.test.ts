/**
 * The admin API on the auth service itself (the gateway's role check is not in front of it
 * here): the service's own admin check, validation, every operation and its effect on the
 * target's sessions, login and refresh, and the admin_action audit line of each.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { COOKIES, REVOCATION } from '../../src/contract.js'
import { holdKeyring } from '../../src/keys/holder.js'
import { createLoginThrottle } from '../../src/login-throttle.js'
import { createDummyHash } from '../../src/passwords.js'
import { createFamilies } from '../../src/refresh/families.js'
import { login as loginUseCase } from '../../src/sessions/login.js'
import { createAccessTokens } from '../../src/tokens/access-token.js'
import { createUsersStore } from '../../src/users/users-store.js'
import type { Teardown } from '../../../scripts/testing/wait.js'
import { build, PASSWORD, refreshBody, session, setCookies, uniqueEmail, type Built } from '../helper.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const sidOf = (refreshToken: string) => refreshToken.split('.')[0]!
const UNKNOWN_USER = '00000000-0000-4000-8000-000000000000'

interface AuditLine {
  audit: true
  event: string
  adminId: string
  action: string
  targetUserId?: string
  [k: string]: unknown
}

async function login (app: FastifyInstance, email: string, password = PASSWORD) {
  return await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password, tokenDelivery: 'body' } })
}

/** A user made admin in the store, then logged in again so the token carries the role. */
async function adminOf (built: Built) {
  const s = await session(built.app, uniqueEmail('admin'))
  await createUsersStore(built.inspect, built.prefix).setRoles(s.user.id, ['user', 'admin'])
  const res = await login(built.app, s.user.email)
  const body = res.json() as { accessToken: string, refreshToken: string }
  return { id: s.user.id, email: s.user.email, ...body }
}

async function setup (t: Teardown) {
  const lines: string[] = []
  const built = await build(t, {}, { logLines: lines })
  const admin = await adminOf(built)
  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, token = admin.accessToken) =>
    await built.app.inject({ method, url, headers: bearer(token) })
  const audits = (): AuditLine[] => lines.map((l) => JSON.parse(l) as AuditLine & { event?: string })
    .filter((l) => l.audit === true && l.event === 'admin_action')
  return { ...built, admin, call, audits }
}

t.test('a non-admin is refused by the service itself: 403 insufficient_scope before any validation', async (t) => {
  const { app, call, audits } = await setup(t)
  const user = await session(app)
  const victim = await session(app)
  const routes: Array<['GET' | 'POST' | 'DELETE', string]> = [
    ['GET', `/auth/admin/users?email=${encodeURIComponent(victim.user.email)}`],
    ['GET', `/auth/admin/users/${victim.user.id}/sessions`],
    ['DELETE', `/auth/admin/users/${victim.user.id}/sessions`],
    ['DELETE', `/auth/admin/users/${victim.user.id}/sessions/${sidOf(victim.refreshToken)}`],
    ['POST', `/auth/admin/users/${victim.user.id}/disable`],
    ['POST', `/auth/admin/users/${victim.user.id}/enable`],
    ['GET', '/auth/admin/users/not-a-uuid/sessions'],
    ['GET', '/auth/admin/users'],
  ]
  for (const [method, url] of routes) {
    const res = await call(method, url, user.accessToken)
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.same(res.json(), { error: 'insufficient_scope', message: 'The admin role is required', statusCode: 403 })
    t.equal(res.headers['www-authenticate'],
      'Bearer error="insufficient_scope", error_description="The admin role is required"')
    const anonymous = await app.inject({ method, url })
    t.equal(anonymous.statusCode, 401, `${method} ${url} without a token`)
    t.equal(anonymous.json().error, 'invalid_token')
  }
  t.equal((await refreshBody(app, victim.refreshToken)).statusCode, 200, "the victim's session is untouched")
  t.equal((await login(app, victim.user.email)).statusCode, 200, 'and the victim can still log in')
  t.same(audits(), [], 'a refusal is no admin action')
})

t.test('an admin token whose account lost the role (or a forged roles claim) gets nothing', async (t) => {
  const { app, inspect, prefix, admin, call } = await setup(t)
  await createUsersStore(inspect, prefix).setRoles(admin.id, ['user'])
  const res = await call('GET', `/auth/admin/users/${admin.id}/sessions`)
  t.equal(res.statusCode, 403)
  t.equal(res.json().error, 'insufficient_scope')
  const forged = await call('GET', `/auth/admin/users/${admin.id}/sessions`, `${admin.accessToken}x`)
  t.equal(forged.statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(admin.accessToken) })).statusCode,
    200, 'the token itself is still a valid user token')
})

t.test('GET /auth/admin/users?email=: exact match, normalised; bad queries are 400', async (t) => {
  const { app, admin, call, audits } = await setup(t)
  const user = await session(app)
  const found = await call('GET', `/auth/admin/users?email=${encodeURIComponent(`  ${user.user.email.toUpperCase()}`)}`)
  t.equal(found.statusCode, 200)
  t.equal(found.headers['cache-control'], 'no-store')
  const [view] = found.json().users
  t.equal(found.json().users.length, 1)
  t.same(Object.keys(view).sort(), ['createdAt', 'disabled', 'email', 'id', 'roles'], 'the contract fields only')
  t.match(view, { id: user.user.id, email: user.user.email, roles: ['user'], disabled: false })
  t.match(view.createdAt, /^\d{4}-\d\d-\d\dT/)
  const none = await call('GET', `/auth/admin/users?email=${encodeURIComponent(uniqueEmail('ghost'))}`)
  t.same(none.json(), { users: [] }, 'an unknown email is an empty list')

  const before = audits().length
  for (const [d, query] of [
    ['no email', ''],
    ['an empty email', '?email='],
    ['not an email', '?email=nobody'],
    ['an unknown parameter', `?email=${encodeURIComponent(user.user.email)}&role=admin`],
  ] as const) {
    const res = await call('GET', `/auth/admin/users${query}`)
    t.equal(res.statusCode, 400, d)
    t.equal(res.json().error, 'invalid_request', d)
    t.type(res.json().message, 'string')
  }
  t.equal(audits().length, before, 'a refused query is no action')
  t.match(audits()[0], { adminId: admin.id, action: 'users_searched', email: user.user.email, found: [user.user.id] })
})

t.test('GET /auth/admin/users/:id/sessions: that user\'s sessions in the /auth/sessions shape', async (t) => {
  const { app, admin, call, audits } = await setup(t)
  const user = await session(app)
  const second = (await login(app, user.user.email)).json()
  const res = await call('GET', `/auth/admin/users/${user.user.id}/sessions`)
  t.equal(res.statusCode, 200)
  const own = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(second.accessToken) })
  const strip = (list: Array<Record<string, unknown>>) => list.map(({ current: _c, ...rest }) => rest)
  t.same(strip(res.json().sessions), strip(own.json().sessions), 'the same sessions, field for field')
  t.ok(res.json().sessions.every((s: { current: boolean }) => !s.current), "none is the admin's current session")
  t.same(res.json().sessions.map((s: { id: string }) => s.id).sort(),
    [sidOf(user.refreshToken), sidOf(second.refreshToken)].sort())

  const mine = await call('GET', `/auth/admin/users/${admin.id}/sessions`)
  t.equal(mine.json().sessions.filter((s: { current: boolean }) => s.current).length, 1, 'my own: current marked')

  const malformed = await call('GET', '/auth/admin/users/not-a-uuid/sessions')
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().error, 'invalid_request')
  const unknown = await call('GET', `/auth/admin/users/${UNKNOWN_USER}/sessions`)
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { error: 'not_found', message: 'No such user', statusCode: 404 })
  t.match(audits().map((a) => [a.action, a.targetUserId, a.adminId]), [
    ['sessions_listed', user.user.id, admin.id],
    ['sessions_listed', admin.id, admin.id],
  ])
  t.equal(audits().length, 2, 'the 400 and the 404 are no actions')
})

t.test('DELETE /auth/admin/users/:id/sessions/:sid ends that session only', async (t) => {
  const { app, inspect, prefix, admin, call, audits } = await setup(t)
  const user = await session(app)
  const other = (await login(app, user.user.email)).json()
  const stranger = await session(app)
  const sid = sidOf(user.refreshToken)

  const wrongOwner = await call('DELETE', `/auth/admin/users/${user.user.id}/sessions/${sidOf(stranger.refreshToken)}`)
  t.equal(wrongOwner.statusCode, 404, "another user's session is not this user's")
  t.same(wrongOwner.json(), { error: 'not_found', message: 'No such session of this user', statusCode: 404 })
  t.equal((await refreshBody(app, stranger.refreshToken)).statusCode, 200, 'and it is untouched')
  for (const bad of ['short', 'x'.repeat(23), 'a.b.c.d.e.f.g.h.i.j.k.l']) {
    const res = await call('DELETE', `/auth/admin/users/${user.user.id}/sessions/${bad}`)
    t.equal(res.statusCode, 400, `malformed sid ${bad}`)
    t.equal(res.json().error, 'invalid_request')
  }
  const unknownUser = await call('DELETE', `/auth/admin/users/${UNKNOWN_USER}/sessions/${sid}`)
  t.equal(unknownUser.statusCode, 404)
  t.equal(unknownUser.json().message, 'No such user')
  t.equal(audits().length, 0, 'nothing was done so far')

  const ended = await call('DELETE', `/auth/admin/users/${user.user.id}/sessions/${sid}`)
  t.equal(ended.statusCode, 204)
  t.equal((await refreshBody(app, user.refreshToken)).json().error, 'invalid_refresh_token', 'its refresh is dead')
  t.ok(await inspect.zscore(REVOCATION.sessionsKey(prefix), sid), 'the gateways are told')
  t.equal((await refreshBody(app, other.refreshToken)).statusCode, 200, 'the other session lives on')
  const again = await call('DELETE', `/auth/admin/users/${user.user.id}/sessions/${sid}`)
  t.equal(again.statusCode, 404, 'an ended session is gone')
  t.match(audits(), [{ adminId: admin.id, action: 'session_ended', targetUserId: user.user.id, sid, self: false }])
})

t.test('DELETE /auth/admin/users/:id/sessions ends all of them; an admin may do it to themself', async (t) => {
  const { app, inspect, prefix, admin, call, audits } = await setup(t)
  const user = await session(app)
  const other = (await login(app, user.user.email)).json()
  const res = await call('DELETE', `/auth/admin/users/${user.user.id}/sessions`)
  t.equal(res.statusCode, 204)
  for (const token of [user.refreshToken, other.refreshToken]) {
    t.equal((await refreshBody(app, token)).json().error, 'invalid_refresh_token')
  }
  t.ok(await inspect.zscore(REVOCATION.usersKey(prefix), user.user.id), "the user's not-before is published")
  t.equal((await login(app, user.user.email)).statusCode, 200, 'ending sessions is not disabling')
  t.equal((await call('DELETE', `/auth/admin/users/${UNKNOWN_USER}/sessions`)).statusCode, 404)

  const self = await call('DELETE', `/auth/admin/users/${admin.id}/sessions`)
  t.equal(self.statusCode, 204, 'allowed on my own account')
  t.equal((await refreshBody(app, admin.refreshToken)).statusCode, 401, 'and my own session is ended too')
  t.match(audits(), [
    { adminId: admin.id, action: 'sessions_ended', targetUserId: user.user.id, sessions: 2, self: false },
    { adminId: admin.id, action: 'sessions_ended', targetUserId: admin.id, sessions: 2, self: true },
  ])
})

t.test('disable: every session ends, login and refresh are 403 account_disabled; enable: login works, old ' +
  'sessions stay dead', async (t) => {
  const { app, inspect, prefix, admin, call, audits } = await setup(t)
  const user = await session(app)
  const other = (await login(app, user.user.email)).json()

  const self = await call('POST', `/auth/admin/users/${admin.id}/disable`)
  t.equal(self.statusCode, 400)
  t.same(self.json(),
    { error: 'cannot_disable_self', message: 'An admin cannot disable their own account', statusCode: 400 })
  t.equal((await refreshBody(app, admin.refreshToken)).statusCode, 200, 'the admin is untouched')
  t.equal((await call('POST', '/auth/admin/users/nope/disable')).statusCode, 400)
  const unknown = await call('POST', `/auth/admin/users/${UNKNOWN_USER}/disable`)
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error, 'not_found')
  t.equal(audits().length, 0)

  const disabled = await call('POST', `/auth/admin/users/${user.user.id}/disable`)
  t.equal(disabled.statusCode, 204)
  const refused = await login(app, user.user.email)
  t.equal(refused.statusCode, 403)
  t.same(refused.json(), { error: 'account_disabled', message: 'This account is disabled', statusCode: 403 })
  const wrongPassword = await login(app, user.user.email, 'not the password at all')
  t.equal(wrongPassword.statusCode, 401, 'a wrong password learns nothing of the flag')
  t.equal(wrongPassword.json().error, 'invalid_credentials')
  for (const token of [user.refreshToken, other.refreshToken]) {
    const r = await refreshBody(app, token)
    t.equal(r.statusCode, 403)
    t.equal(r.json().error, 'account_disabled')
  }
  const cookieRefresh = await app.inject({
    method: 'POST', url: '/auth/refresh', cookies: { [COOKIES.refreshToken]: user.refreshToken },
  })
  t.equal(cookieRefresh.statusCode, 403)
  t.equal(cookieRefresh.json().error, 'account_disabled')
  t.equal(setCookies(cookieRefresh).get(COOKIES.refreshToken)?.attrs['max-age'], '0', 'a browser drops its cookies')
  const live = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(other.accessToken) })
  t.equal(live.statusCode, 401, 'its access tokens are refused here')
  t.ok(await inspect.zscore(REVOCATION.usersKey(prefix), user.user.id), "and the user's not-before is published")
  t.ok(await inspect.zscore(REVOCATION.sessionsKey(prefix), sidOf(other.refreshToken)), 'each session too')
  const listed = await call('GET', `/auth/admin/users?email=${encodeURIComponent(user.user.email)}`)
  t.equal(listed.json().users[0].disabled, true)
  t.same((await call('GET', `/auth/admin/users/${user.user.id}/sessions`)).json(), { sessions: [] })

  const enabled = await call('POST', `/auth/admin/users/${user.user.id}/enable`)
  t.equal(enabled.statusCode, 204)
  t.equal((await login(app, user.user.email)).statusCode, 200, 'login works again')
  const old = await refreshBody(app, user.refreshToken)
  t.equal(old.statusCode, 401, 'an old session stays dead')
  t.equal(old.json().error, 'invalid_refresh_token')
  t.equal((await call('POST', `/auth/admin/users/${UNKNOWN_USER}/enable`)).statusCode, 404)
  t.match(audits(), [
    { adminId: admin.id, action: 'user_disabled', targetUserId: user.user.id, sessions: 2, self: false },
    { adminId: admin.id, action: 'users_searched' },
    { adminId: admin.id, action: 'sessions_listed', targetUserId: user.user.id, sessions: 0 },
    { adminId: admin.id, action: 'user_enabled', targetUserId: user.user.id },
  ])
  t.equal(audits().length, 4)
})

t.test('a login racing a disable: the flag is re-read after the family exists, so no session survives', async (t) => {
  const built = await build(t)
  const { app, inspect, prefix, config, keyring } = built
  const user = await session(app)
  const users = createUsersStore(inspect, prefix)
  // The login read the account just before the disable landed: the record it holds is stale.
  const stale = await users.findByEmail(user.user.email)
  await users.setDisabled(user.user.id, true)
  const families = createFamilies(inspect, { ...config, prefix })
  const noop = () => {}
  const refusals: string[] = []
  const deps = {
    users: { findByEmail: async () => stale, findById: users.findById },
    families,
    throttle: createLoginThrottle(inspect, prefix, 0, 60),
    tokens: createAccessTokens(holdKeyring(keyring), { issuer: 'urn:i', audience: 'urn:a', ttl: 60 }),
    events: {
      loginSucceeded: noop,
      loginFailed: (_log: unknown, f: { reason: string }) => { refusals.push(f.reason) },
    },
    dummyHash: await createDummyHash(),
  }
  const before = (await families.listForUser(user.user.id)).map((s) => s.id)
  const log = { info: noop, warn: noop }
  const input = { email: user.user.email, password: PASSWORD, client: { ip: '::1', userAgent: 't' }, log }
  await t.rejects(loginUseCase(deps, input), { code: 'AUTH_ERR_ACCOUNT_DISABLED' })
  t.same((await families.listForUser(user.user.id)).map((s) => s.id), before, 'the racing family was removed')
  t.same(refusals, ['account_disabled'])
})
