/**
 * Drill: the auth service goes away (SIGTERM) under a running gateway (real processes).
 * The gateway keeps verifying access tokens with the keys it holds until JWKS_MAX_STALE
 * (3 s here) after its last successful JWKS fetch, then answers 503 (never 401: the tokens
 * are not at fault), and recovers by itself once the auth service is back.
 */
import t from 'tap'
import { freePort } from '../../testing/ports.js'
import { useTestRedis } from '../../testing/redis.js'
import { call } from '../../testing/node-process.js'
import { waitFor } from '../../testing/wait.js'
import { startEchoUpstream } from '../../testing/http.js'
import { PASSWORD, jsonPost, registerUser, withBearer } from '../../testing/stack.js'
import { startAuth, startGatewayProcess, tempKeysDir } from './helpers.js'

const MAX_STALE_S = 3
const REFRESH_S = 1

t.test('auth service down: the gateway serves until the maximum stale age, then 503; ' +
  'recovers when it returns', async (t) => {
  const r = await useTestRedis(t)
  const target = { url: r.url, prefix: r.prefix }
  const keysDir = tempKeysDir(t)
  const authPort = await freePort()
  let auth = await startAuth(t, { redis: target, keysDir, port: authPort })
  const orders = await startEchoUpstream(t, 'orders')
  const gw = await startGatewayProcess(t, {
    redis: target,
    upstreams: { auth: auth.url, orders: orders.url },
    env: { JWKS_MAX_STALE: String(MAX_STALE_S), JWKS_REFRESH_INTERVAL: String(REFRESH_S), JWKS_COOLDOWN: '1' },
  })
  t.teardown(() => gw.stop())
  const s = await registerUser(gw.url, 'authdown')
  t.equal((await call(`${gw.url}/api/orders`, withBearer(s.accessToken))).status, 200)

  const stopping = performance.now()
  const exit = await auth.stop('SIGTERM')
  t.equal(exit.code, 0, 'the auth service closed gracefully')
  const stoppedAt = performance.now()
  const closeMs = stoppedAt - stopping

  const login = await call(`${gw.url}/auth/login`, jsonPost({ email: s.email, password: PASSWORD }))
  t.equal(login.status, 502, 'auth routes through the gateway: 502 while the auth service is down')
  t.equal(login.json?.error, 'bad_gateway')

  let served = 0
  const unexpected: number[] = []
  let refusedAt = 0
  let refusal: { status: number, json: any, headers: Headers } | undefined
  while (performance.now() - stoppedAt < (MAX_STALE_S + REFRESH_S + 3) * 1000) {
    const res = await call(`${gw.url}/api/orders`, withBearer(s.accessToken))
    if (res.status === 200) served++
    else if (res.status === 503) {
      refusedAt = performance.now() - stoppedAt
      refusal = res
      break
    } else unexpected.push(res.status)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(served > 0, 'verified traffic served with the cached keys')
  t.same(unexpected, [], 'nothing but 200 before the keys went stale (no 401s)')
  t.ok(refusal, 'then 503')
  t.equal(refusal?.json?.error, 'service_unavailable')
  t.ok(refusal?.headers.get('retry-after'), 'with Retry-After')
  t.ok(
    refusedAt <= (MAX_STALE_S + REFRESH_S + 1) * 1000,
    `503 within JWKS_MAX_STALE (+ one refresh interval) of the outage: ${Math.round(refusedAt)} ms`
  )
  // How old the keys were when the gateway gave up: just past JWKS_MAX_STALE, not before it.
  const metrics = await fetch(`${gw.url}/metrics`).then((res) => res.text())
  const keyAge = Number(/^gateway_jwks_last_success_age_seconds (\S+)$/m.exec(metrics)?.[1])
  t.ok(
    keyAge > MAX_STALE_S && keyAge < MAX_STALE_S + 2,
    `keys were ${keyAge.toFixed(2)} s old at the first 503 (JWKS_MAX_STALE=${MAX_STALE_S} s)`
  )
  const ready = await call(`${gw.url}/readyz`)
  t.equal(ready.status, 503)
  t.match(ready.json, { checks: { keys: false }, message: /signing keys/ })

  const restartAt = performance.now()
  auth = await startAuth(t, { redis: target, keysDir, port: authPort })
  const authUp = performance.now() - restartAt
  const back = await waitFor(
    async () => (await call(`${gw.url}/api/orders`, withBearer(s.accessToken))).status === 200,
    15_000,
    'gateway serving again'
  )
  // The drill refetches at most once a second (JWKS_COOLDOWN 1 s): back within that, plus the fetch; 0.5-0.9 s here.
  t.ok(back < 1500, `served again ${Math.round(back)} ms after the auth service was back (within about a second)`)
  t.equal((await call(`${gw.url}/readyz`)).status, 200, 'ready again')
  t.comment(`auth down: graceful close took ${Math.round(closeMs)} ms; ` +
    `the gateway then served ${served} verified requests and answered 503 ` +
    `${Math.round(refusedAt)} ms after the exit, when its keys were ${keyAge.toFixed(2)} s old ` +
    `(JWKS_MAX_STALE=${MAX_STALE_S} s, refresh every ${REFRESH_S} s); ` +
    `auth restarted in ${Math.round(authUp)} ms, gateway serving again ${Math.round(back)} ms later`)
  await auth.stop()
})
