/**
 * Drill: business services failing behind a running gateway process. The orders service
 * (a real process) is killed → 502 bad_gateway, and the first request once it is restarted
 * → 200; a users service slower than UPSTREAM_TIMEOUT → 504 gateway_timeout, while one just
 * under it → 200.
 */
import t from 'tap'
import Fastify from 'fastify'
import { freePort } from '../../testing/ports.js'
import { useTestRedis } from '../../testing/redis.js'
import { call } from '../../testing/node-process.js'
import { createSigner, signToken, startJwksServer } from '../../testing/jwt.js'
import { withBearer } from '../../testing/stack.js'
import { startGatewayProcess, startOrders } from './helpers.js'

const UPSTREAM_TIMEOUT_MS = 500

t.test('upstream down → 502, slow upstream → 504', async (t) => {
  const r = await useTestRedis(t)
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const slow = Fastify()
  slow.get('/users/me', async (request) => {
    const delay = Number((request.query as { delay?: string }).delay ?? 0)
    await new Promise((resolve) => setTimeout(resolve, delay))
    return { id: request.headers['x-user-id'], delay }
  })
  await slow.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => slow.close())
  const ordersPort = await freePort()
  let orders = await startOrders(t, ordersPort)
  const gw = await startGatewayProcess(t, {
    redis: { url: r.url, prefix: r.prefix },
    upstreams: {
      auth: `http://127.0.0.1:${await freePort()}`,
      jwks: `${jwks.url}/.well-known/jwks.json`,
      orders: orders.url,
      users: `http://127.0.0.1:${(slow.server.address() as { port: number }).port}`,
    },
    env: { UPSTREAM_TIMEOUT: String(UPSTREAM_TIMEOUT_MS) },
  })
  t.teardown(() => gw.stop())
  const auth = withBearer(await signToken(signer))

  t.test('orders service killed → 502, back → 200', async (t) => {
    t.equal((await call(`${gw.url}/api/orders`, auth)).status, 200)
    await orders.stop('SIGKILL')
    const down = await call(`${gw.url}/api/orders`, auth)
    t.equal(down.status, 502)
    t.same(down.json, { error: 'bad_gateway', message: 'The upstream service failed to answer', statusCode: 502 })
    const started = performance.now()
    orders = await startOrders(t, ordersPort)
    const ready = performance.now() - started
    const back = await call(`${gw.url}/api/orders`, auth)
    t.equal(back.status, 200, 'the next request after it is back is served')
    t.comment('upstream down: 502 bad_gateway while the orders process was dead; ' +
      `the first request after restarting it (ready in ${Math.round(ready)} ms) answered ${back.status}`)
    await orders.stop()
  })

  t.test(`users service slower than UPSTREAM_TIMEOUT (${UPSTREAM_TIMEOUT_MS} ms) → 504`, async (t) => {
    const started = performance.now()
    const res = await call(`${gw.url}/api/users/me?delay=2500`, auth)
    const took = performance.now() - started
    t.equal(res.status, 504)
    t.same(
      res.json,
      { error: 'gateway_timeout', message: 'The upstream service did not answer in time', statusCode: 504 }
    )
    t.ok(took < 2500, 'the gateway gave up before the upstream answered')
    const ok = await call(`${gw.url}/api/users/me?delay=100`, auth)
    t.equal(ok.status, 200, 'an upstream under the timeout is served')
    t.equal(ok.json?.delay, 100)
    t.comment(`slow upstream: 504 gateway_timeout after ${Math.round(took)} ms for an upstream needing 2500 ms ` +
      `(UPSTREAM_TIMEOUT=${UPSTREAM_TIMEOUT_MS} ms); a 100 ms upstream answered 200`)
  })
})
