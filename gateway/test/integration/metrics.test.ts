/**
 * GET /metrics on the gateway: the key series are scraped before and after real traffic
 * (real RS256 tokens, real JWKS server, real Redis pub/sub) and checked to move.
 */
import t from 'tap'
import { REVOCATION } from '../../../auth-service/src/contract.js'
import { freePort } from '../../../scripts/testing/ports.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { waitFor } from '../../../scripts/testing/wait.js'

/** The value of one sample in Prometheus text (NaN when absent: no assertion passes on a missing series). */
function sample (text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    const series = line.slice(0, line.lastIndexOf(' '))
    if (
      Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))
    ) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return NaN
}

t.test('requests, verification outcomes, JWKS, revocations and readiness show up in /metrics', async (t) => {
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const echo = await startEchoUpstream(t)
  const gw = await startGateway(t, {
    jwksUrl: `${jwks.url}/.well-known/jwks.json`,
    upstream: echo.url,
    // Nothing listens on the orders URL (502); one login per minute per IP (the second is a 429).
    config: { ordersUrl: `http://127.0.0.1:${await freePort()}`, rateLimitAuth: 1 },
  })
  const scrape = async () => {
    const res = await request(gw.url, '/metrics')
    t.equal(res.status, 200)
    t.match(res.headers['content-type'], /text\/plain/)
    return res.text
  }
  const before = await scrape()
  t.equal(sample(before, 'gateway_jwks_keys'), 1, 'one kid held')
  t.ok(sample(before, 'gateway_jwks_fetches_total', { result: 'ok' }) >= 1, 'JWKS fetched')
  t.equal(sample(before, 'gateway_dependency_up', { dependency: 'keys' }), 1)
  t.equal(sample(before, 'gateway_dependency_up', { dependency: 'redis' }), 1)
  const sinceFetch = sample(before, 'gateway_jwks_last_success_age_seconds')
  t.ok(sinceFetch >= 0 && sinceFetch < 5, `last successful JWKS fetch ${sinceFetch} s ago`)

  const token = await signToken(signer)
  const expired = await signToken(
    signer, { claims: { iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 600 } }
  )
  t.equal((await request(gw.url, '/api/users/me', { headers: [bearer(token)] })).status, 200)
  t.equal((await request(gw.url, '/api/users/me', { headers: [bearer(token)] })).status, 200)
  t.equal((await request(gw.url, '/api/users/me', { headers: [bearer(expired)] })).status, 401)
  t.equal((await request(gw.url, '/api/users/me')).status, 401)
  const login = () => request(
    gw.url, '/auth/login', { method: 'POST', headers: [['content-type', 'application/json']], body: '{}' }
  )
  t.equal((await login()).status, 200, 'first login reaches the (echo) auth upstream')
  t.equal((await login()).status, 429, 'second is refused by the rate limit')
  const down = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(down.status, 502)
  t.equal(down.json.error, 'bad_gateway')

  // A revocation as the auth service publishes it (with `at`), and an older-format one (without).
  const revokedSid = 'sid-revoked-by-test'
  await gw.redis.publish(REVOCATION.channel(gw.prefix), JSON.stringify({
    type: 'session', sid: revokedSid, until: Date.now() + 60_000, at: Date.now() - 20
  }))
  await gw.redis.publish(REVOCATION.channel(gw.prefix), JSON.stringify({
    type: 'user', sub: 'someone', notBefore: Date.now(), until: Date.now() + 60_000
  }))
  await waitFor(
    async () => sample(await scrape(), 'gateway_revocation_messages_total', { type: 'user' }) === 1,
    5000,
    'revocation messages'
  )
  const revoked = await signToken(signer, { claims: { sid: revokedSid } })
  t.equal((await request(gw.url, '/api/users/me', { headers: [bearer(revoked)] })).status, 401)

  const after = await scrape()
  // A labelled counter appears with its first increment: absent before counts as 0, absent after fails.
  const delta = (
    name: string,
    labels: Record<string,
    string>
  ) => sample(after, name, labels) - (sample(before, name, labels) || 0)
  t.equal(
    delta('gateway_requests_total', { route: 'users', method: 'GET', status: '200' }), 2, 'requests by route and status'
  )
  t.equal(delta('gateway_requests_total', { route: 'users', method: 'GET', status: '401' }), 3)
  t.equal(
    delta('gateway_requests_total', { route: 'orders', method: 'GET', status: '502' }),
    1,
    'upstream failures counted by route'
  )
  t.equal(
    delta('gateway_requests_total', { route: 'auth', method: 'POST', status: '429' }),
    1,
    'rate-limit refusals counted by route'
  )
  t.ok(delta('gateway_request_duration_seconds_count', { route: 'users' }) >= 5, 'latency histogram observed')
  t.equal(
    delta('gateway_token_verifications_total', { outcome: 'ok', reason: 'none' }),
    3,
    'verified tokens (2 users + 1 orders)'
  )
  t.equal(delta('gateway_token_verifications_total', { outcome: 'denied', reason: 'token_expired' }), 1)
  t.equal(delta('gateway_token_verifications_total', { outcome: 'denied', reason: 'missing_token' }), 1)
  t.equal(delta('gateway_token_verifications_total', { outcome: 'denied', reason: 'revoked' }), 1)
  t.equal(sample(after, 'gateway_revocation_messages_total', { type: 'session' }), 1)
  t.equal(sample(after, 'gateway_revocation_lag_seconds_count'), 1, 'lag observed only for messages that carry `at`')
  const lag = sample(after, 'gateway_revocation_lag_seconds_sum')
  t.ok(lag >= 0.02 && lag < 5, `revocation lag ${lag} s`)
  t.equal(sample(after, 'gateway_revoked_sessions'), 1, 'revoked sessions held')
  t.equal(sample(after, 'gateway_revoked_users'), 1)
  // The verified-token cache (on by default): the same token 3 times = 1 miss, then hits.
  t.ok(delta('gateway_token_cache_misses_total', {}) >= 1, 'token cache misses counted')
  t.ok(delta('gateway_token_cache_hits_total', {}) >= 2, 'token cache hits counted')
  t.ok(sample(after, 'gateway_token_cache_entries') >= 1, 'token cache entries')
})

t.test('/readyz names what is missing', async (t) => {
  const deadJwks = `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`
  const gw = await startGateway(t, { jwksUrl: deadJwks, waitReady: false })
  await waitFor(async () => (await request(gw.url, '/readyz')).json?.checks?.redis === true, 5000, 'redis check')
  const res = await request(gw.url, '/readyz')
  t.equal(res.status, 503)
  t.match(
    res.json,
    {
      status: 'not_ready',
      error: 'service_unavailable',
      message: /^Not ready: signing keys/,
      checks: { keys: false, redis: true },
    }
  )
  const metrics = (await request(gw.url, '/metrics')).text
  t.equal(sample(metrics, 'gateway_dependency_up', { dependency: 'keys' }), 0)
  t.equal(sample(metrics, 'gateway_jwks_last_success_age_seconds'), -1, 'never fetched')
  t.ok(sample(metrics, 'gateway_jwks_fetches_total', { result: 'error' }) >= 1, 'failed JWKS fetches counted')
})
