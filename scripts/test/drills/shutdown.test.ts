/**
 * Drill: graceful shutdown of the gateway as a real process. N requests are in flight to a
 * slow upstream (~1 s) when SIGTERM arrives: every one completes with 200, new connections
 * are refused, Redis is closed, and the process exits 0 (close-with-grace, 10 s hard limit).
 */
import t from 'tap'
import Fastify from 'fastify'
import { freePort } from '../../testing/ports.js'
import { useTestRedis } from '../../testing/redis.js'
import { call } from '../../testing/node-process.js'
import { waitFor } from '../../testing/wait.js'
import { createSigner, signToken, startJwksServer } from '../../testing/jwt.js'
import { withBearer } from '../../testing/stack.js'
import { startGatewayProcess } from './helpers.js'

const N = 20
const UPSTREAM_DELAY_MS = 1000

t.test(`SIGTERM with ${N} requests in flight: all complete 200, the gateway exits 0`, async (t) => {
  const r = await useTestRedis(t)
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  let arrived = 0
  const slow = Fastify()
  slow.get('/*', async (request) => {
    arrived++
    await new Promise((resolve) => setTimeout(resolve, UPSTREAM_DELAY_MS))
    return { path: request.url, user: request.headers['x-user-id'] ?? null }
  })
  await slow.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => slow.close())
  const slowUrl = `http://127.0.0.1:${(slow.server.address() as { port: number }).port}`
  const gw = await startGatewayProcess(t, {
    redis: { url: r.url, prefix: r.prefix },
    upstreams: { auth: `http://127.0.0.1:${await freePort()}`, jwks: `${jwks.url}/.well-known/jwks.json`, users: slowUrl, web: slowUrl },
  })
  const auth = withBearer(await signToken(signer, { claims: { sub: 'shutdown-user' } }))

  // Half anonymous (web rule), half verified (users rule): both kinds must drain.
  const inFlight = Array.from({ length: N }, (_, i) => i % 2 === 0
    ? call(`${gw.url}/page-${i}`)
    : call(`${gw.url}/api/users/me?i=${i}`, auth))
  await waitFor(() => arrived === N, 10_000, 'every request at the upstream', 10)
  const signalAt = performance.now()
  gw.child.kill('SIGTERM')
  await waitFor(() => gw.lines.some((l) => l.includes('"closing"')), 5000, 'closing log line', 10)
  const late = await call(`${gw.url}/readyz`)
  const results = await Promise.all(inFlight)
  const drained = performance.now() - signalAt
  const exit = await gw.exited
  const exitedAfter = performance.now() - signalAt

  t.same(results.map((res) => res.status), Array(N).fill(200), 'every in-flight request completed with 200')
  t.same(
    results.filter((_, i) => i % 2 === 1).map((res) => res.json?.user),
    Array(N / 2).fill('shutdown-user'),
    'verified ones carried the identity'
  )
  t.ok(
    late.status === 0 || late.status === 503,
    `a request after SIGTERM is refused (got ${late.status || 'connection refused'})`
  )
  t.same(exit, { code: 0, signal: null }, 'exit code 0')
  t.match(gw.logs().find((l) => l.msg === 'closing'), { signal: 'SIGTERM' })
  const completed = results.filter((res) => res.status === 200).length
  t.comment(`shutdown: ${N} requests in flight at SIGTERM, ${completed} completed 200 ` +
    `(drained ${Math.round(drained)} ms after the signal, upstream needs ${UPSTREAM_DELAY_MS} ms); ` +
    `a new request got ${late.status || 'connection refused'}; ` +
    `exit code ${exit.code} after ${Math.round(exitedAfter)} ms`)
})
