/**
 * Drill: Redis crashes (SIGKILL) under a running stack of real processes (auth service,
 * orders service, gateway), then comes back on the same port and data directory with AOF
 * (appendonly yes, appendfsync always).
 *   - while down: auth routes answer 503, the gateway keeps serving verified traffic with the
 *     revocation set it holds, and both report not-ready;
 *   - when back: both recover by themselves, and no session is lost (the refresh token issued
 *     just before the crash still refreshes).
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedisServer, type RedisServer } from '../../local-redis/redis-server.js'
import { freePort } from '../../testing/ports.js'
import { call } from '../../testing/node-process.js'
import { waitFor } from '../../testing/wait.js'
import { PASSWORD, jsonPost, registerUser, withBearer } from '../../testing/stack.js'
import { startAuth, startGatewayProcess, startOrders, tempKeysDir } from './helpers.js'

const redisPort = await freePort()
const redisDir = mkdtempSync(join(tmpdir(), 'drill-redis-'))
t.teardown(() => rmSync(redisDir, { recursive: true, force: true }))
const startRedis = () => startRedisServer({
  port: redisPort,
  dir: redisDir,
  appendOnly: true,
  extraArgs: ['--appendfsync', 'always'],
})
let redis: RedisServer = await startRedis()
t.teardown(() => redis.stop())

const target = { url: redis.url, prefix: 'drill:redis:' }
const auth = await startAuth(t, { redis: target, keysDir: tempKeysDir(t), port: await freePort() })
const orders = await startOrders(t, await freePort())
const gw = await startGatewayProcess(t, { redis: target, upstreams: { auth: auth.url, orders: orders.url } })

const alive = await registerUser(gw.url, 'alive')
const ended = await registerUser(gw.url, 'ended')
let latestRefresh = ''

t.test('Redis down: auth 503, the gateway keeps serving verified traffic and reports not-ready', async (t) => {
  // A revoked session before the crash: the gateway must keep refusing it while Redis is away.
  t.equal((await call(`${gw.url}/auth/logout`, jsonPost({ refreshToken: ended.refreshToken }))).status, 204)
  await waitFor(
    async () => (await call(`${gw.url}/api/orders`, withBearer(ended.accessToken))).status === 401,
    5000,
    'revocation at the gateway'
  )
  // The last write before the crash: a rotation. With appendfsync always it must survive a SIGKILL.
  const rotated = await call(`${gw.url}/auth/refresh`, jsonPost({ refreshToken: alive.refreshToken }))
  t.equal(rotated.status, 200)
  latestRefresh = rotated.json.refreshToken

  redis.process.kill('SIGKILL')
  await new Promise((resolve) => redis.process.once('exit', resolve))
  const downAt = performance.now()

  const noticed = await waitFor(
    async () => (await call(`${gw.url}/readyz`)).status === 503,
    10_000,
    'gateway not-ready'
  )
  const gwReady = await call(`${gw.url}/readyz`)
  t.match(gwReady.json, { status: 'not_ready', checks: { keys: true, redis: false }, message: /Redis/ })
  const authReady = await call(`${auth.url}/readyz`)
  t.equal(authReady.status, 503)
  t.match(authReady.json, { error: 'service_unavailable', checks: { redis: false }, message: /Redis/ })

  const login = await call(
    `${gw.url}/auth/login`,
    jsonPost({ email: alive.email, password: PASSWORD, tokenDelivery: 'body' })
  )
  t.equal(login.status, 503, 'login: 503')
  t.equal(login.json?.error, 'service_unavailable')
  const refresh = await call(`${gw.url}/auth/refresh`, jsonPost({ refreshToken: latestRefresh }))
  t.equal(refresh.status, 503, 'refresh: 503 (not 401: the token is not at fault)')
  t.equal(refresh.json?.error, 'service_unavailable')

  let served = 0
  let refused = 0
  let other = 0
  const until = performance.now() + 1500
  while (performance.now() < until) {
    const [ok, revoked] = await Promise.all([
      call(`${gw.url}/api/orders`, withBearer(alive.accessToken)),
      call(`${gw.url}/api/orders`, withBearer(ended.accessToken)),
    ])
    if (ok.status === 200) served++; else other++
    if (revoked.status === 401) refused++; else other++
  }
  t.ok(served > 0, 'verified traffic served while Redis is down')
  t.equal(other, 0, 'every live-session request 200 and every revoked-session request 401')
  t.ok(refused > 0, 'the revoked session stays refused')
  t.comment(`Redis down: gateway reported not-ready after ${Math.round(noticed)} ms; ` +
    `in ${Math.round(performance.now() - downAt)} ms of outage it served ${served} verified requests (200) ` +
    `and refused ${refused} from a revoked session (401); auth login/refresh answered 503`)
})

t.test('Redis back with AOF: both recover on their own and no session is lost', async (t) => {
  const restartAt = performance.now()
  redis = await startRedis()
  const redisUp = performance.now() - restartAt
  const gwBack = await waitFor(
    async () => (await call(`${gw.url}/readyz`)).status === 200,
    20_000,
    'gateway ready again'
  )
  const authBack = await waitFor(
    async () => (await call(`${auth.url}/readyz`)).status === 200,
    20_000,
    'auth ready again'
  )

  const refresh = await call(`${gw.url}/auth/refresh`, jsonPost({ refreshToken: latestRefresh }))
  t.equal(refresh.status, 200, 'the refresh token issued just before the SIGKILL still refreshes: the session survived')
  t.type(refresh.json?.accessToken, 'string')
  t.equal((await call(`${gw.url}/api/orders`, withBearer(refresh.json.accessToken))).status, 200)
  const old = await call(`${gw.url}/auth/refresh`, jsonPost({ refreshToken: alive.refreshToken }))
  t.equal(old.status, 401, 'the token rotated before the crash is still known as rotated: its reuse is detected')
  t.equal(old.json?.error, 'refresh_token_reused')
  const endedRefresh = await call(`${gw.url}/auth/refresh`, jsonPost({ refreshToken: ended.refreshToken }))
  t.equal(endedRefresh.status, 401, 'the session ended before the crash stays ended')
  t.equal(
    (await call(`${gw.url}/api/orders`, withBearer(ended.accessToken))).status,
    401,
    'and its access token stays revoked'
  )
  const login = await call(
    `${gw.url}/auth/login`,
    jsonPost({ email: alive.email, password: PASSWORD, tokenDelivery: 'body' })
  )
  t.equal(login.status, 200, 'the account survived too: login works')
  t.comment(`Redis back: redis-server answered after ${Math.round(redisUp)} ms; ` +
    `gateway ready ${Math.round(gwBack)} ms and auth ready ` +
    `${Math.round(authBack)} ms after that; the pre-crash refresh token refreshed (AOF, appendfsync always)`)
})

t.teardown(async () => {
  await gw.stop()
  await Promise.all([auth.stop(), orders.stop()])
})
