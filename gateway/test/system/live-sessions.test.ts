/**
 * Live sockets through the real stack (auth service, gateway, orders service, Redis): the
 * orders feed delivers the caller's changes, and each way a session ends (logout, logout-all,
 * reuse detection, a session ended from the sessions page, an account disabled by an admin)
 * closes that session's socket with 4401 within a second, printed, while another session's
 * socket stays open.
 */
import t, { type Test } from 'tap'
import { createUsersStore } from '../../../auth-service/src/users/users-store.js'
import { call } from '../../../scripts/testing/node-process.js'
import { PASSWORD, jsonPost, registerUser, type Session } from '../../../scripts/testing/stack.js'
import { sleep } from '../../../scripts/testing/wait.js'
import { nextMessage, openSocket } from '../../../scripts/testing/websocket.js'
import { startInProcessStack } from '../helpers/in-process-stack.js'

const WITHIN_MS = 1000
const REUSE_GRACE_S = 1

t.test('live sockets follow the session', async (t) => {
  const stack = await startInProcessStack(t, { auth: { REFRESH_REUSE_GRACE: String(REUSE_GRACE_S) } })
  const gw = stack.gatewayUrl
  const login = async (email: string): Promise<Session> => {
    const res = await call(`${gw}/auth/login`, jsonPost({ email, password: PASSWORD, tokenDelivery: 'body' }))
    return { ...res.json, email, userId: res.json.user.id } as Session
  }
  const sidOf = (s: Session) => s.refreshToken.split('.')[0]!
  const bearerOf = (s: Session) => ({ authorization: `Bearer ${s.accessToken}` })
  const feed = async (s: Session) => {
    const opened = await openSocket(`${gw}/api/orders/live`, { authorization: `Bearer ${s.accessToken}` })
    if (!opened.ok) throw new Error(`feed refused: ${opened.status} ${JSON.stringify(opened.body)}`)
    return opened
  }
  /** Opens a feed per session, runs `end`: the first closes with 4401 in time, the other stays open. */
  async function endsOnly (t: Test, what: string, ended: Session, kept: Session, end: () => Promise<unknown>) {
    const doomed = await feed(ended)
    const other = await feed(kept)
    const started = performance.now()
    const at = Date.now()
    await end()
    const closed = await Promise.race([doomed.closed, sleep(3000).then(() => null)])
    t.ok(closed, `${what}: the socket closed`)
    if (closed === null) return
    const ms = closed.at - at
    const total = (performance.now() - started).toFixed(0)
    t.comment(`${what} -> socket closed 4401 after ${ms} ms (${total} ms including the call)`)
    t.equal(closed.code, 4401, `${what}: 4401`)
    t.ok(ms < WITHIN_MS, `${what}: within 1 s`)
    other.ws.send('ping')
    await sleep(100)
    t.equal(other.ws.readyState, other.ws.OPEN, `${what}: another session's socket stays open`)
    other.ws.close()
  }

  await t.test('without a token the upgrade is 401; with one, an order created arrives on the socket', async (t) => {
    const refused = await openSocket(`${gw}/api/orders/live`)
    t.same(refused.ok ? 'opened' : [refused.status, refused.body.error], [401, 'invalid_token'])
    const user = await registerUser(gw, 'live')
    const opened = await feed(user)
    const message = nextMessage(opened.ws)
    const created = await call(`${gw}/api/orders`, jsonPost({ item: 'tea', quantity: 2 }, bearerOf(user)))
    t.equal(created.status, 201)
    t.same(JSON.parse(await message), { type: 'order.created', order: created.json })
    opened.ws.close()
  })

  await t.test('logout', async (t) => {
    const user = await registerUser(gw, 'live')
    const other = await login(user.email)
    await endsOnly(t, 'logout', user, other, async () => {
      t.equal((await call(`${gw}/auth/logout`, jsonPost({ refreshToken: user.refreshToken }))).status, 204)
    })
  })

  await t.test('logout-all closes every socket of the user, not another user\'s', async (t) => {
    const user = await registerUser(gw, 'live')
    const second = await login(user.email)
    const stranger = await registerUser(gw, 'live')
    const mine = await feed(second)
    await endsOnly(t, 'logout-all', user, stranger, async () => {
      const out = await call(`${gw}/auth/logout-all`, jsonPost({}, bearerOf(user)))
      t.equal(out.status, 204)
    })
    t.equal((await mine.closed).code, 4401, "the user's other session too")
  })

  await t.test('reuse of a rotated refresh token', async (t) => {
    const user = await registerUser(gw, 'live')
    const other = await login(user.email)
    const rotated = await call(`${gw}/auth/refresh`, jsonPost({ refreshToken: user.refreshToken }))
    t.equal(rotated.status, 200)
    const current = { ...user, accessToken: rotated.json.accessToken, refreshToken: rotated.json.refreshToken }
    await sleep(REUSE_GRACE_S * 1000 + 200)
    await endsOnly(t, 'reuse detection', current, other, async () => {
      const reuse = await call(`${gw}/auth/refresh`, jsonPost({ refreshToken: user.refreshToken }))
      t.equal(reuse.json.error, 'refresh_token_reused')
    })
  })

  await t.test('a session ended from the sessions list', async (t) => {
    const user = await registerUser(gw, 'live')
    const other = await login(user.email)
    await endsOnly(t, 'session ended', user, other, async () => {
      const res = await call(`${gw}/auth/sessions/${sidOf(user)}`, { headers: bearerOf(other), method: 'DELETE' })
      t.equal(res.status, 204)
    })
  })

  await t.test('an account disabled by an admin', async (t) => {
    const admin = await registerUser(gw, 'live-admin')
    await createUsersStore(stack.redis.client, stack.redis.prefix).setRoles(admin.userId, ['user', 'admin'])
    const adminSession = await login(admin.email)
    const user = await registerUser(gw, 'live')
    await endsOnly(t, 'account disabled', user, adminSession, async () => {
      const path = `/auth/admin/users/${user.userId}/disable`
      const res = await call(`${gw}${path}`, { headers: bearerOf(adminSession), method: 'POST' })
      t.equal(res.status, 204)
    })
  })
})
