import t from 'tap'
import { randomUUID } from 'node:crypto'
import { freePort } from '../../../scripts/testing/ports.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { sleep, waitFor } from '../../../scripts/testing/wait.js'

const echo = await startEchoUpstream(t)

t.test('JWKS server down: cached keys keep working until JWKS_MAX_STALE, then 503, then recovery', async (t) => {
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const gw = await startGateway(t, {
    jwksUrl: `${jwks.url}/.well-known/jwks.json`,
    upstream: echo.url,
    config: { jwksMaxStaleMs: 1500, jwksRefreshIntervalMs: 200 },
  })
  const token = await signToken(signer)
  t.equal((await request(gw.url, '/api/orders', { headers: [bearer(token)] })).status, 200)

  await jwks.close()
  const stoppedAt = Date.now()
  const during = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(during.status, 200, 'still verified with the cached key while the auth service is down')

  let res = during
  await waitFor(async () => {
    res = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
    return res.status !== 200
  }, 5000, 'keys to go stale')
  t.ok(Date.now() - stoppedAt >= 1000, 'not before the maximum stale age (minus one refresh interval)')
  t.equal(res.status, 503, 'then 503, not 401')
  t.equal(res.json.error, 'service_unavailable')
  t.equal(res.headers['www-authenticate'], undefined, 'not the token\'s fault')
  const ready = await request(gw.url, '/readyz')
  t.equal(ready.status, 503)
  t.match(ready.json, { checks: { keys: false, redis: true } })

  await jwks.restart()
  await waitFor(
    async () => (await request(gw.url, '/api/orders', { headers: [bearer(token)] })).status === 200, 5000, 'recovery'
  )
  t.pass('verifies again once the JWKS answers')
  t.equal((await request(gw.url, '/readyz')).status, 200)
})

async function flood (
  url: string,
  signer: Awaited<ReturnType<typeof createSigner>>,
  total: number
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>()
  let sent = 0
  const worker = async () => {
    while (sent < total) {
      sent++
      const token = await signToken(signer, { header: { kid: `bogus-${randomUUID()}` } })
      const res = await request(url, '/api/orders', { headers: [bearer(token)] })
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  return statuses
}

t.test('a flood of random kids causes at most a handful of JWKS fetches', async (t) => {
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const gw = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url })
  const before = jwks.fetches()
  const statuses = await flood(gw.url, signer, 1000)
  const extra = jwks.fetches() - before
  t.comment(`1000 random-kid requests within the default cooldown caused ${extra} JWKS fetch(es)`)
  t.same(Object.fromEntries(statuses), { 401: 1000 }, 'every one is a 401')
  t.ok(extra <= 3, `at most a handful of fetches (got ${extra})`)
  t.match(gw.logs.find((l) => l.includes('"reason":"no_matching_key"')), /no_matching_key/)
})

t.test('past the cooldown, a flood of random kids refetches at most once per cooldown', async (t) => {
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const gw = await startGateway(
    t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url, config: { jwksCooldownMs: 1000 } }
  )
  await sleep(1100)
  const before = jwks.fetches()
  const started = Date.now()
  const statuses = await flood(gw.url, signer, 1000)
  const elapsed = Date.now() - started
  const extra = jwks.fetches() - before
  t.comment(`1000 random-kid requests over ${elapsed} ms with a 1 s cooldown caused ${extra} JWKS fetch(es)`)
  t.same(Object.fromEntries(statuses), { 401: 1000 })
  t.ok(extra >= 1, 'the first unknown kid after the cooldown does refetch')
  t.ok(extra <= 1 + Math.ceil(elapsed / 1000), 'never more than one per cooldown')
})

t.test('a new kid published in the JWKS is picked up by one refetch after the cooldown', async (t) => {
  const first = await createSigner()
  const second = await createSigner()
  const jwks = await startJwksServer(t, [first.jwk])
  const gw = await startGateway(
    t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url, config: { jwksCooldownMs: 300 } }
  )
  jwks.setKeys([first.jwk, second.jwk])
  await sleep(350)
  const before = jwks.fetches()
  const token = await signToken(second)
  const results = await Promise.all(
    Array.from({ length: 20 }, () => request(gw.url, '/api/orders', { headers: [bearer(token)] }))
  )
  t.same(results.map((r) => r.status), Array(20).fill(200), 'all verified with the new key')
  t.equal(jwks.fetches() - before, 1, 'concurrent unknown-kid requests share one fetch')
  const ready = await request(gw.url, '/readyz')
  t.same(
    ready.json.kids.map((k: { kid: string }) => k.kid).sort(),
    [first.kid, second.kid].sort(),
    '/readyz lists the kids held'
  )
})

t.test('/readyz', async (t) => {
  t.test('503 while the keys have never loaded; protected routes 503 too', async (t) => {
    const deadJwks = `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`
    const gw = await startGateway(t, { jwksUrl: deadJwks, upstream: echo.url, waitReady: false })
    await waitFor(async () => (await request(gw.url, '/readyz')).json?.checks?.redis === true, 5000, 'redis check')
    const res = await request(gw.url, '/readyz')
    t.equal(res.status, 503)
    t.match(res.json, { status: 'not_ready', checks: { keys: false, redis: true } })
    const signer = await createSigner()
    const api = await request(gw.url, '/api/orders', { headers: [bearer(await signToken(signer))] })
    t.equal(api.status, 503)
    t.equal(api.json.error, 'service_unavailable')
    t.equal(api.headers['retry-after'], '5')
  })

  t.test('503 while Redis is unreachable', async (t) => {
    const signer = await createSigner()
    const jwks = await startJwksServer(t, [signer.jwk])
    const gw = await startGateway(t, {
      jwksUrl: `${jwks.url}/.well-known/jwks.json`,
      upstream: echo.url,
      redis: { url: `redis://127.0.0.1:${await freePort()}`, prefix: 'test:dead:' },
      waitReady: false,
    })
    await waitFor(async () => (await request(gw.url, '/readyz')).json?.checks?.keys === true, 5000, 'keys check')
    const res = await request(gw.url, '/readyz')
    t.equal(res.status, 503)
    t.match(res.json, { checks: { keys: true, redis: false } })
    const api = await request(gw.url, '/api/orders', { headers: [bearer(await signToken(signer))] })
    t.equal(api.status, 200, 'requests are still served without Redis')
  })

  t.test('200 when keys and Redis are fine', async (t) => {
    const signer = await createSigner()
    const jwks = await startJwksServer(t, [signer.jwk])
    const gw = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url })
    const res = await request(gw.url, '/readyz')
    t.equal(res.status, 200)
    t.match(res.json, { status: 'ready', checks: { keys: true, redis: true } })
  })
})
