import t from 'tap'
import { KEYS_EVENTS } from '../../../auth-service/src/contract.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { GATEWAY_REGISTRY, parseGatewayRegistryEntry } from '../../src/contract.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { sleep, waitFor } from '../../../scripts/testing/wait.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'

const echo = await startEchoUpstream(t)
// CSRF_SECRET is required by the gateway config.
const BASE = { CSRF_SECRET: 'x'.repeat(32) }

t.test('config: GATEWAY_REGISTRY_INTERVAL and GATEWAY_PUBLIC_URL', async (t) => {
  const d = loadConfig(BASE)
  t.equal(d.gatewayRegistryIntervalMs, 5000, 'registers every 5 s by default')
  t.equal(d.gatewayPublicUrl, '', 'URL derived from the listening address by default')
  const c = loadConfig({ ...BASE, GATEWAY_REGISTRY_INTERVAL: '0.5', GATEWAY_PUBLIC_URL: 'https://gw-1.internal:8443/' })
  t.equal(c.gatewayRegistryIntervalMs, 500)
  t.equal(c.gatewayPublicUrl, 'https://gw-1.internal:8443')
  t.equal(
    loadConfig({ ...BASE, GATEWAY_REGISTRY_INTERVAL: '0' }).gatewayRegistryIntervalMs, 0, '0 turns registration off'
  )
  const err = t.throws(
    () => loadConfig({ ...BASE, GATEWAY_REGISTRY_INTERVAL: 'often', GATEWAY_PUBLIC_URL: 'ftp://x' })
  ) as ConfigError
  t.type(err, ConfigError)
  t.equal(err.problems.length, 2, 'both reported at once')
  t.match(err.message, /GATEWAY_REGISTRY_INTERVAL/)
  t.match(err.message, /GATEWAY_PUBLIC_URL/)
})

t.test('a listening gateway keeps its entry (URL, kids held) in the Redis registry and removes it on close', async (
  t
) => {
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const redis = await useTestRedis(t)
  const gw = await startGateway(t, {
    jwksUrl: `${jwks.url}/.well-known/jwks.json`,
    upstream: echo.url,
    redis: { url: redis.url, prefix: redis.prefix },
    config: { gatewayRegistryIntervalMs: 200 },
  })
  const key = GATEWAY_REGISTRY.key(redis.prefix)
  const entries = async () => Object.values(
    await redis.client.hgetall(key)
  ).map((raw) => parseGatewayRegistryEntry(raw)!)
  await waitFor(
    async () => (await entries()).some((e) => e.kids.includes(signer.kid)), 3000, 'registry entry with the kid'
  )
  const [entry] = await entries()
  t.equal(entry!.url, gw.url, 'the URL it listens on')
  t.ok(entry!.expiresAt > Date.now(), 'not expired')
  t.ok(entry!.expiresAt - entry!.updatedAt <= 600, 'expires after three intervals')
  const ttl = await redis.client.pttl(key)
  t.ok(ttl > 0 && ttl <= 600, `the hash itself expires when no gateway refreshes it (pttl ${ttl})`)

  const ready = await request(entry!.url, '/readyz')
  t.same(ready.json.kids.map((k: { kid: string }) => k.kid), [signer.kid], '/readyz at that URL lists the kids held')

  // A new key in the JWKS shows up in the entry after the next refresh.
  const second = await createSigner()
  jwks.setKeys([signer.jwk, second.jwk])
  await gw.app.inject({ method: 'GET', url: '/healthz' })
  await redis.client.publish(KEYS_EVENTS.channel(redis.prefix), '{}')
  await waitFor(
    async () => (await entries())[0]?.kids.includes(second.kid) ?? false, 3000, 'registry entry with the new kid'
  )
  t.pass('the entry follows the kids held')

  await gw.app.close()
  t.same(await redis.client.hgetall(key), {}, 'entry removed on close')
})

t.test('a keys message refetches the JWKS at once (no cooldown, single flight) and drops kids that left it', async (
  t
) => {
  const old = await createSigner()
  const current = await createSigner()
  const jwks = await startJwksServer(t, [old.jwk, current.jwk])
  const redis = await useTestRedis(t)
  const gw = await startGateway(t, {
    jwksUrl: `${jwks.url}/.well-known/jwks.json`,
    upstream: echo.url,
    redis: { url: redis.url, prefix: redis.prefix },
    // Neither the periodic refresh nor an unknown-kid refetch could explain a refetch here.
    config: { jwksRefreshIntervalMs: 3_600_000, jwksCooldownMs: 3_600_000 },
  })
  const oldToken = await signToken(old)
  t.equal((await request(gw.url, '/api/orders', { headers: [bearer(oldToken)] })).status, 200, 'old key verifies')
  const metrics = async () => (await request(gw.url, '/metrics')).text
  t.match(await metrics(), new RegExp(`gateway_jwks_key_age_seconds\\{kid="${old.kid}"\\}`), 'age gauge per kid')

  // The auth service pruned `old` and pre-published `fresh`.
  const fresh = await createSigner()
  jwks.setKeys([current.jwk, fresh.jwk])
  await waitFor(
    async () => (await gw.redis.pubsub('NUMSUB', KEYS_EVENTS.channel(redis.prefix)) as [string, number])[1] >= 1,
    3000,
    'gateway subscribed'
  )
  const before = jwks.fetches()
  // Many messages at once: the refetches join (single flight), one immediate plus one follow-up.
  await Promise.all(
    Array.from(
      { length: 20 },
      () => redis.client.publish(KEYS_EVENTS.channel(redis.prefix), JSON.stringify({ type: 'keys_changed' }))
    )
  )
  await waitFor(async () => !(await metrics()).includes(`kid="${old.kid}"`), 3000, 'old kid dropped')
  await sleep(1300)
  const fetched = jwks.fetches() - before
  t.ok(fetched >= 1 && fetched <= 4, `20 messages cost ${fetched} JWKS fetch(es)`)

  const res = await request(gw.url, '/api/orders', { headers: [bearer(oldToken)] })
  t.equal(res.status, 401, 'a token of the pruned key is rejected')
  t.equal(res.json.error, 'invalid_token')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(await signToken(fresh))] })).status,
    200,
    'the newly published key verifies without an unknown-kid refetch'
  )
  t.same(
    (await request(gw.url, '/readyz')).json.kids.map((k: { kid: string }) => k.kid).sort(),
    [current.kid, fresh.kid].sort()
  )
})
