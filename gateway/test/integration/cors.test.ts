import t from 'tap'
import { bearer, request } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { startCountingUpstream } from '../helpers/browser-fixtures.js'

const PARTNER = 'http://partner.test:3000'
const FOREIGN = 'http://evil.test'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const upstream = await startCountingUpstream(t)
const gw = await startGateway(t, {
  jwksUrl: `${jwks.url}/.well-known/jwks.json`,
  upstream: upstream.url,
  config: { gatewayPublicOrigins: ['http://gateway.test'], corsOrigins: [PARTNER] },
})
const token = await signToken(signer)

function preflight (path: string, origin: string | null, method = 'POST') {
  const headers: Array<[
    string,
    string
  ]> = [['Access-Control-Request-Method', method], ['Access-Control-Request-Headers', 'content-type,x-csrf-token']]
  if (origin) headers.push(['Origin', origin])
  return request(gw.url, path, { method: 'OPTIONS', headers })
}

const varyHasOrigin = (
  vary: string | undefined
) => (vary ?? '').split(',').map((v) => v.trim().toLowerCase()).includes('origin')

t.test('preflight from an allowed origin is answered at the gateway with credentials allowed', async (t) => {
  for (const path of ['/api/orders', '/api/orders/42', '/auth/login', '/auth/sessions/x']) {
    const before = upstream.hits()
    const res = await preflight(path, PARTNER, path.includes('sessions') ? 'DELETE' : 'POST')
    t.equal(res.status, 204, `${path}: 204`)
    t.equal(res.headers['access-control-allow-origin'], PARTNER, 'the origin reflected, never *')
    t.equal(res.headers['access-control-allow-credentials'], 'true')
    t.match(res.headers['access-control-allow-methods'], /POST/)
    t.match(res.headers['access-control-allow-methods'], /DELETE/)
    t.match(res.headers['access-control-allow-headers'], /x-csrf-token/)
    t.match(res.headers['access-control-allow-headers'], /authorization/)
    t.equal(res.headers['access-control-max-age'], '600')
    t.ok(varyHasOrigin(res.headers.vary), 'Vary: Origin')
    t.equal(upstream.hits(), before, 'not proxied')
  }
})

t.test('preflight from a foreign origin gets no CORS grant and is not proxied either', async (t) => {
  for (const path of ['/api/orders', '/auth/login', '/', '/anything']) {
    const before = upstream.hits()
    const res = await preflight(path, FOREIGN)
    t.equal(res.status, 204, `${path}: answered at the gateway`)
    t.equal(res.headers['access-control-allow-origin'], undefined, 'no Allow-Origin')
    t.equal(res.headers['access-control-allow-credentials'], undefined, 'no Allow-Credentials')
    t.ok(varyHasOrigin(res.headers.vary), 'Vary: Origin')
    t.equal(upstream.hits(), before, 'not proxied')
  }
})

t.test('an OPTIONS without Origin is answered at the gateway too (no text/plain 400, not proxied)', async (t) => {
  const before = upstream.hits()
  const res = await preflight('/api/orders', null)
  t.equal(res.status, 204)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(upstream.hits(), before)
})

t.test('actual requests: credentials and exposed headers only for the listed origin', async (t) => {
  const allowed = await request(gw.url, '/api/orders', { headers: [bearer(token), ['Origin', PARTNER]] })
  t.equal(allowed.status, 200)
  t.equal(allowed.headers['access-control-allow-origin'], PARTNER)
  t.equal(allowed.headers['access-control-allow-credentials'], 'true')
  t.match(allowed.headers['access-control-expose-headers'], /x-request-id/)
  t.match(allowed.headers['access-control-expose-headers'], /retry-after/)
  t.ok(varyHasOrigin(allowed.headers.vary))

  const foreign = await request(gw.url, '/api/orders', { headers: [bearer(token), ['Origin', FOREIGN]] })
  t.equal(foreign.status, 200, 'served (CORS is enforced by the browser), but...')
  t.equal(
    foreign.headers['access-control-allow-origin'],
    undefined,
    '...without Allow-Origin a browser does not let the page read it'
  )
  t.equal(foreign.headers['access-control-allow-credentials'], undefined)
  t.equal(foreign.headers['access-control-expose-headers'], undefined)
  t.ok(varyHasOrigin(foreign.headers.vary))

  const sameOrigin = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(sameOrigin.headers['access-control-allow-origin'], undefined, 'no Origin, no CORS headers')
  t.ok(varyHasOrigin(sameOrigin.headers.vary), 'Vary: Origin even then (caches must not mix them)')
})

t.test('an allowed origin can read error answers too', async (t) => {
  const res = await request(gw.url, '/api/orders', { headers: [['Origin', PARTNER]] })
  t.equal(res.status, 401)
  t.equal(res.json.error, 'invalid_token')
  t.equal(res.headers['access-control-allow-origin'], PARTNER)
  t.equal(res.headers['access-control-allow-credentials'], 'true')
})

t.test('an origin that only looks like the listed one is not allowed', async (t) => {
  for (const origin of [`${PARTNER}.evil.test`, 'http://partner.test', 'https://partner.test:3000', `${PARTNER}/`]) {
    const res = await preflight('/api/orders', origin)
    t.equal(res.headers['access-control-allow-origin'], undefined, origin)
    t.equal(res.headers['access-control-allow-credentials'], undefined, origin)
  }
})

t.test('with no CORS_ORIGINS (the default) no origin gets a grant', async (t) => {
  const solo = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: upstream.url })
  t.same(solo.config.corsOrigins, [])
  const res = await request(solo.url, '/api/orders', {
    method: 'OPTIONS', headers: [['Origin', PARTNER], ['Access-Control-Request-Method', 'GET']]
  })
  t.equal(res.status, 204)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal(res.headers['access-control-allow-credentials'], undefined)
})

t.test('Vary: Origin is added to an upstream\'s own Vary, once', async (t) => {
  for (
    const [
      vary,
      expected,
    ] of [['Accept-Encoding', 'Accept-Encoding, Origin'], ['origin', 'origin'], ['Accept, Origin', 'Accept, Origin']]
  ) {
    const varying = await startCountingUpstream(t, { vary: vary! })
    const own = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: varying.url })
    const res = await request(own.url, '/api/orders', { headers: [bearer(token), ['Origin', PARTNER]] })
    t.equal(res.status, 200)
    t.equal(res.headers.vary, expected, `upstream Vary: ${vary}`)
  }
})
