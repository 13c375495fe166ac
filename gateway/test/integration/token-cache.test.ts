import t from 'tap'
import { KEYS_EVENTS, REVOCATION } from '../../../auth-service/src/contract.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { createTokenCache } from '../../src/pipeline/token-cache.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { waitFor } from '../../../scripts/testing/wait.js'

const echo = await startEchoUpstream(t)

t.test('a cached token: revocation and key removal still refuse it', async (t) => {
  const signer = await createSigner()
  const next = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk, next.jwk])
  const r = await useTestRedis(t)
  const cache = createTokenCache({ maxEntries: 1000, ttlMs: 60_000 })
  const gw = await startGateway(
    t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url, redis: r, deps: { tokenCache: cache } }
  )

  const token = await signToken(signer, { claims: { sid: 'sid-cached' } })
  const other = await signToken(signer, { claims: { sid: 'sid-other' } })
  const onNext = await signToken(next)
  for (const tok of [token, token, other, onNext]) {
    const res = await request(gw.url, '/api/orders', { headers: [bearer(tok)] })
    t.equal(res.status, 200)
    t.equal(res.json.headers['x-user-id'], 'user-1', 'identity written from the cached entry too')
  }
  t.equal(cache.size(), 3, 'three distinct tokens cached')
  t.ok(cache.stats().hits >= 1, 'the repeated token was a hit')

  // Revocation (what the auth service does on logout): the cached token is refused at once.
  const until = Date.now() + 60_000
  await r.client.zadd(REVOCATION.sessionsKey(r.prefix), until, 'sid-cached')
  await r.client.publish(REVOCATION.channel(r.prefix), JSON.stringify({ type: 'session', sid: 'sid-cached', until }))
  await waitFor(
    async () => (await request(gw.url, '/api/orders', { headers: [bearer(token)] })).status === 401,
    2000,
    'revocation of a cached token'
  )
  const res = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(res.status, 401)
  t.same(res.json, { error: 'invalid_token', message: 'token revoked', statusCode: 401 })
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(other)] })).status,
    200,
    'another cached session still passes'
  )

  // Prune: the old key leaves the JWKS, the keys CLI announces it, the gateway refetches.
  jwks.setKeys([next.jwk])
  await r.client.publish(KEYS_EVENTS.channel(r.prefix), JSON.stringify({ type: 'keys_changed', action: 'prune' }))
  await waitFor(
    async () => (await request(gw.url, '/api/orders', { headers: [bearer(other)] })).status === 401,
    3000,
    'pruned key refused'
  )
  const pruned = await request(gw.url, '/api/orders', { headers: [bearer(other)] })
  t.equal(pruned.status, 401, 'a cached token of a pruned key is refused')
  t.equal(pruned.json.error, 'invalid_token')
  t.match(pruned.headers['www-authenticate'], /error="invalid_token"/)
  t.equal(
    (await request(gw.url, '/api/orders', { headers: [bearer(onNext)] })).status,
    200,
    'tokens of the remaining key pass'
  )
})

t.test('VERIFY_IMPLEMENTATION=jose and no cache: the same answers', async (t) => {
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const gw = await startGateway(t, {
    jwksUrl: `${jwks.url}/.well-known/jwks.json`,
    upstream: echo.url,
    config: { verifyImplementation: 'jose', tokenCacheMax: 0 },
  })
  const token = await signToken(signer)
  t.equal((await request(gw.url, '/api/orders', { headers: [bearer(token)] })).status, 200)
  const expired = await signToken(
    signer, { claims: { iat: Math.floor(Date.now() / 1000) - 1000, exp: Math.floor(Date.now() / 1000) - 60 } }
  )
  const res = await request(gw.url, '/api/orders', { headers: [bearer(expired)] })
  t.equal(res.status, 401)
  t.same(res.json, { error: 'invalid_token', message: 'token expired', statusCode: 401 })
})
