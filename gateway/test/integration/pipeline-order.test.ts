/**
 * The order of the request pipeline (pipeline/index.ts: strip -> CORS preflight -> per-IP limits ->
 * authenticate/authorize -> CSRF -> per-user limit), shown by what each stage must not see:
 * hooks added after the gateway's never see a client's identity header, a preflight is never
 * counted by a limiter, and a request refused by authorization or CSRF does not use up the
 * user's per-minute limit.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { buildGateway } from '../../src/app.js'
import { shippedGatewayFile } from '../helpers/gateway-file.js'
import { defaultConfig } from '../../src/config.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { bearer, request } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { cookieSession, startCountingUpstream } from '../helpers/browser-fixtures.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const jwksUrl = `${jwks.url}/.well-known/jwks.json`
const upstream = await startCountingUpstream(t)

t.test('strip comes first: a hook added after the gateway\'s sees no client identity header', async (t) => {
  const r = await useTestRedis(t)
  const redis = new Redis(r.url, { maxRetriesPerRequest: 1 })
  t.teardown(() => redis.disconnect())
  const config = defaultConfig({ jwksUrl, redisUrl: r.url, redisPrefix: r.prefix, webUrl: upstream.url })
  const app = buildGateway(config, { file: shippedGatewayFile(config), redis, logStream: { write: () => {} } })
  const seen: string[][] = []
  app.addHook('onRequest', async (request) => { seen.push(Object.keys(request.headers)) })
  t.teardown(() => app.close())
  const res = await app.inject({
    method: 'GET',
    url: '/anything',
    headers: {
      'x-user-id': 'admin', 'X-User-Roles': 'admin', 'x-session-id': 's', accept: 'text/html'
    }
  })
  t.equal(res.statusCode, 200, 'proxied')
  t.equal(seen.length, 1)
  t.ok(seen[0]!.includes('accept'), 'other headers are there')
  t.same(seen[0]!.filter((h) => h.startsWith('x-user') || h === 'x-session-id'), [], 'no identity header left')
})

t.test('a preflight ends the pipeline before any limiter counts it', async (t) => {
  const gw = await startGateway(
    t, { jwksUrl, upstream: upstream.url, config: { rateLimitNotFound: 1, trustProxy: ['127.0.0.1'] } }
  )
  const ip: [string, string] = ['X-Forwarded-For', '192.0.2.60']
  for (let i = 0; i < 3; i++) {
    const res = await request(gw.url, '/api/nope', {
      method: 'OPTIONS', headers: [ip, ['Origin', 'http://evil.test'], ['Access-Control-Request-Method', 'GET']]
    })
    t.equal(res.status, 204, `preflight ${i + 1}: answered, not limited`)
  }
  t.equal(
    (await request(gw.url, '/api/nope', { headers: [ip] })).status, 404, 'the first real 404 is still within the limit'
  )
  t.equal((await request(gw.url, '/api/nope', { headers: [ip] })).status, 429, 'the second is limited')
})

t.test('requests refused by authorization or CSRF do not use up the per-user limit', async (t) => {
  const gw = await startGateway(t, { jwksUrl, upstream: upstream.url, config: { rateLimitApi: 2 } })
  const session = await cookieSession(signer, gw.config.csrfSecret, 'sid-order', 'limited-user')
  const csrfRefused = await request(gw.url, '/api/orders', {
    method: 'POST', headers: [['Cookie', session.cookie], ['Content-Type', 'application/json']], body: '{}'
  })
  t.equal(csrfRefused.status, 403, 'no CSRF header')
  t.equal(csrfRefused.json?.error, 'csrf_failed')
  const token = await signToken(signer, { claims: { sub: 'limited-user', roles: ['user'] } })
  const roleRefused = await request(gw.url, '/api/orders/1', { method: 'DELETE', headers: [bearer(token)] })
  t.equal(roleRefused.status, 403, 'admin role missing')
  t.equal(roleRefused.json?.error, 'insufficient_scope')
  const served = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(served.status, 200)
  t.equal(served.headers['x-ratelimit-remaining'], '1', 'the first request the limit counted')
})
