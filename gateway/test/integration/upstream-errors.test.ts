import t from 'tap'
import { freePort } from '../../../scripts/testing/ports.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const jwksUrl = `${jwks.url}/.well-known/jwks.json`
const token = await signToken(signer)

t.test('upstream down -> 502 bad_gateway JSON', async (t) => {
  const gw = await startGateway(t, { jwksUrl, upstream: `http://127.0.0.1:${await freePort()}` })
  for (const path of ['/api/orders', '/auth/login', '/']) {
    const res = await request(gw.url, path, { headers: [bearer(token)] })
    t.equal(res.status, 502, path)
    t.same(res.json, { error: 'bad_gateway', message: 'The upstream service failed to answer', statusCode: 502 })
    t.notOk(res.text.includes('ECONNREFUSED'), 'no internals in the body')
  }
})

t.test('slow upstream -> 504 gateway_timeout JSON after UPSTREAM_TIMEOUT', async (t) => {
  const echo = await startEchoUpstream(t)
  const gw = await startGateway(t, { jwksUrl, upstream: echo.url, config: { upstreamTimeoutMs: 200 } })
  const res = await request(gw.url, '/api/orders/slow', { headers: [bearer(token)] })
  t.equal(res.status, 504)
  t.same(
    res.json, { error: 'gateway_timeout', message: 'The upstream service did not answer in time', statusCode: 504 }
  )
  const fast = await request(gw.url, '/api/orders/1', { headers: [bearer(token)] })
  t.equal(fast.status, 200, 'a fast answer still goes through')
})

t.test('hop-by-hop request headers a client sends do not break forwarding', async (t) => {
  const echo = await startEchoUpstream(t)
  const gw = await startGateway(t, { jwksUrl, upstream: echo.url })
  const res = await request(gw.url, '/api/orders', {
    headers: [
      bearer(token),
      ['Keep-Alive', 'timeout=5'],
      ['Upgrade', 'h2c'],
      ['TE', 'trailers'],
      ['Proxy-Authorization', 'Basic eA=='],
    ],
  })
  t.equal(res.status, 200)
  for (
    const name of ['keep-alive', 'upgrade', 'te', 'proxy-authorization']
  ) t.equal(res.json.headers[name], undefined, `${name} not forwarded`)
})
