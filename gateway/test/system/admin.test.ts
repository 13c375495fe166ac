/**
 * The admin API through the gateway (CONTRACT "Admin operations"): the gateway's role check
 * and the auth service's own, list/end/disable/enable and their effects on the target's
 * login, refresh and live access tokens, the time the gateway takes to refuse those tokens
 * (printed; the contract says within 1 s), and the admin_action audit line of each action.
 */
import t from 'tap'
import { createUsersStore } from '../../../auth-service/src/users/users-store.js'
import { call, type CallResult } from '../../../scripts/testing/node-process.js'
import {
  PASSWORD, jsonPost, registerUser, withBearer, type Session,
} from '../../../scripts/testing/stack.js'
import { sleep } from '../../../scripts/testing/wait.js'
import { startInProcessStack } from '../helpers/in-process-stack.js'

const WITHIN_MS = 1000

t.test('the admin API through the gateway', async (t) => {
  const lines: string[] = []
  const stack = await startInProcessStack(t, { authLogLines: lines })
  const gw = stack.gatewayUrl
  const store = createUsersStore(stack.redis.client, stack.redis.prefix)
  const sidOf = (s: { refreshToken: string }) => s.refreshToken.split('.')[0]!
  const login = async (email: string) =>
    await call(`${gw}/auth/login`, jsonPost({ email, password: PASSWORD, tokenDelivery: 'body' }))
  const refresh = async (refreshToken: string) => await call(`${gw}/auth/refresh`, jsonPost({ refreshToken }))
  const me = async (token: string) => await call(`${gw}/api/users/me`, withBearer(token))

  const adminUser = await registerUser(gw, 'admin')
  await store.setRoles(adminUser.userId, ['user', 'admin'])
  const admin = (await login(adminUser.email)).json as Session
  const adminId = adminUser.userId
  const as = (token: string, method = 'GET') => ({ ...withBearer(token), method })
  const adminCall = async (method: string, path: string) => await call(`${gw}${path}`, as(admin.accessToken, method))
  const audits = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.audit === true && l.event === 'admin_action')

  /** Polls the gateway with `token` until it answers 401; the ms since `start`. */
  async function msUntilRefused (start: number, token: string): Promise<number> {
    for (;;) {
      const res = await me(token)
      if (res.status === 401) return performance.now() - start
      if (performance.now() - start > 10_000) throw new Error(`still ${res.status} after 10 s`)
      await sleep(5)
    }
  }

  await t.test('a non-admin is refused at the gateway and, called directly, by the auth service', async (t) => {
    const user = await registerUser(gw, 'plain')
    const target = await registerUser(gw, 'target')
    const before = audits().length
    for (const [method, path] of [
      ['GET', `/auth/admin/users?email=${encodeURIComponent(target.email)}`],
      ['GET', `/auth/admin/users/${target.userId}/sessions`],
      ['DELETE', `/auth/admin/users/${target.userId}/sessions`],
      ['POST', `/auth/admin/users/${target.userId}/disable`],
    ] as const) {
      const atGateway = await call(`${gw}${path}`, as(user.accessToken, method))
      t.equal(atGateway.status, 403, `gateway: ${method} ${path}`)
      t.equal(atGateway.json.error, 'insufficient_scope')
      t.match(atGateway.headers.get('www-authenticate'), /^Bearer error="insufficient_scope"/)
      const direct = await call(`${stack.authUrl}${path}`, as(user.accessToken, method))
      t.equal(direct.status, 403, `auth service: ${method} ${path}`)
      t.same(direct.json, { error: 'insufficient_scope', message: 'The admin role is required', statusCode: 403 })
      t.match(direct.headers.get('www-authenticate'), /^Bearer error="insufficient_scope"/)
      const anonymous = await call(`${gw}${path}`, { method })
      t.equal(anonymous.status, 401, `no token: ${method} ${path}`)
    }
    t.equal((await me(target.accessToken)).status, 200, 'the target is untouched')
    t.equal((await refresh(target.refreshToken)).status, 200)
    t.equal(audits().length, before, 'no admin action was done')
  })

  await t.test('find, list, end one, end all: the target\'s tokens are refused within 1 s', async (t) => {
    const target = await registerUser(gw, 'target')
    const second = (await login(target.email)).json as Session
    const found = await adminCall('GET', `/auth/admin/users?email=${encodeURIComponent(target.email)}`)
    t.equal(found.status, 200)
    t.match(found.json, { users: [{ id: target.userId, email: target.email, roles: ['user'], disabled: false }] })
    const listed = await adminCall('GET', `/auth/admin/users/${target.userId}/sessions`)
    t.equal(listed.status, 200)
    t.same(listed.json.sessions.map((s: { id: string }) => s.id).sort(), [sidOf(target), sidOf(second)].sort())

    const malformed = await adminCall('GET', '/auth/admin/users/not-an-id/sessions')
    t.equal(malformed.status, 400)
    t.equal(malformed.json.error, 'invalid_request')
    const unknown = await adminCall('POST', '/auth/admin/users/00000000-0000-4000-8000-000000000000/disable')
    t.equal(unknown.status, 404)
    t.same(unknown.json, { error: 'not_found', message: 'No such user', statusCode: 404 })

    const start = performance.now()
    const endOne = await adminCall('DELETE', `/auth/admin/users/${target.userId}/sessions/${sidOf(target)}`)
    t.equal(endOne.status, 204)
    const oneMs = await msUntilRefused(start, target.accessToken)
    t.comment(`end one session: the gateway refused its access token ${oneMs.toFixed(1)} ms after the request`)
    t.ok(oneMs < WITHIN_MS, `within ${WITHIN_MS} ms (${oneMs.toFixed(1)} ms)`)
    t.equal((await me(second.accessToken)).status, 200, 'the other session still works')

    const startAll = performance.now()
    t.equal((await adminCall('DELETE', `/auth/admin/users/${target.userId}/sessions`)).status, 204)
    const allMs = await msUntilRefused(startAll, second.accessToken)
    t.comment(`end all sessions: refused ${allMs.toFixed(1)} ms after the request`)
    t.ok(allMs < WITHIN_MS, `within ${WITHIN_MS} ms (${allMs.toFixed(1)} ms)`)
    t.equal((await refresh(second.refreshToken)).json.error, 'invalid_refresh_token')
    t.equal((await login(target.email)).status, 200, 'ending sessions does not disable')
    t.match(audits().slice(-4), [
      { adminId, action: 'users_searched', email: target.email },
      { adminId, action: 'sessions_listed', targetUserId: target.userId },
      { adminId, action: 'session_ended', targetUserId: target.userId, sid: sidOf(target) },
      { adminId, action: 'sessions_ended', targetUserId: target.userId, sessions: 1 },
    ])
  })

  await t.test('disable: tokens refused within 1 s, login and refresh 403 account_disabled; enable', async (t) => {
    const target = await registerUser(gw, 'target')
    const self = await adminCall('POST', `/auth/admin/users/${adminId}/disable`)
    t.equal(self.status, 400)
    t.equal(self.json.error, 'cannot_disable_self')
    t.equal((await me(admin.accessToken)).status, 200, 'the admin is untouched')

    const start = performance.now()
    const disabled = await adminCall('POST', `/auth/admin/users/${target.userId}/disable`)
    t.equal(disabled.status, 204)
    const ms = await msUntilRefused(start, target.accessToken)
    t.comment(`disable: the gateway refused the account's live access token ${ms.toFixed(1)} ms after the request`)
    t.ok(ms < WITHIN_MS, `within ${WITHIN_MS} ms (${ms.toFixed(1)} ms)`)
    const expectDisabled = (res: CallResult, what: string) => {
      t.equal(res.status, 403, what)
      t.same(res.json, { error: 'account_disabled', message: 'This account is disabled', statusCode: 403 }, what)
    }
    expectDisabled(await login(target.email), 'login')
    expectDisabled(await refresh(target.refreshToken), 'refresh')

    t.equal((await adminCall('POST', `/auth/admin/users/${target.userId}/enable`)).status, 204)
    const back = await login(target.email)
    t.equal(back.status, 200, 'enabled: login works')
    t.equal((await me(back.json.accessToken)).status, 200, 'and its new token passes the gateway')
    t.equal((await refresh(target.refreshToken)).json.error, 'invalid_refresh_token', 'the old session stays dead')
    t.match(audits().slice(-2), [
      { adminId, action: 'user_disabled', targetUserId: target.userId, sessions: 1, self: false },
      { adminId, action: 'user_enabled', targetUserId: target.userId },
    ])
    t.notOk(audits().some((a) => a.action === 'user_disabled' && a.targetUserId === adminId),
      'the refused self-disable is no action')
  })

  await t.test('an admin ending their own sessions through the API is allowed and logged', async (t) => {
    const res = await adminCall('DELETE', `/auth/admin/users/${adminId}/sessions`)
    t.equal(res.status, 204)
    t.match(audits().at(-1), { adminId, action: 'sessions_ended', targetUserId: adminId, self: true })
    const ms = await msUntilRefused(performance.now(), admin.accessToken)
    t.ok(ms < WITHIN_MS, 'their own token is refused like anyone\'s')
  })
})
