/**
 * Drill: the drain on SIGTERM, as nginx does it. Pooled keep-alive clients reuse their idle
 * connections just after the gateway (a real compiled process) got SIGTERM with slow requests
 * in flight: no request on an open connection is reset (each is answered, with
 * Connection: close), a new connection is refused, every in-flight request completes, and
 * the process exits 0.
 */
import t from 'tap'
import http from 'node:http'
import Fastify from 'fastify'
import { freePort } from '../../testing/ports.js'
import { useTestRedis } from '../../testing/redis.js'
import { sleep, waitFor } from '../../testing/wait.js'
import { createSigner, startJwksServer } from '../../testing/jwt.js'
import { startGatewayProcess } from './helpers.js'

const CLIENTS = 8
const SLOW_MS = 800
const DRAIN_S = 3

interface Outcome { status: number, reused: boolean, error?: string, connection?: string }

function get (agent: http.Agent, url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const failed = (err: NodeJS.ErrnoException) =>
      resolve({ status: 0, reused: req.reusedSocket, error: err.code ?? err.message })
    const req = http.get(url, { agent }, (res) => {
      res.resume()
      const { statusCode, headers } = res
      const reused = req.reusedSocket
      res.on('end', () => resolve({ status: statusCode ?? 0, reused, connection: headers.connection }))
      res.on('error', failed)
    })
    req.on('error', failed)
  })
}

t.test('SIGTERM: a drain answers every request on open connections, then exits 0', async (t) => {
  const r = await useTestRedis(t)
  const upstream = Fastify({ keepAliveTimeout: 60_000 })
  upstream.get('/slow', async () => { await sleep(SLOW_MS); return 'slow' })
  upstream.get('/*', async () => 'ok')
  await upstream.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => upstream.close())
  const upstreamUrl = `http://127.0.0.1:${(upstream.server.address() as { port: number }).port}`
  const jwks = await startJwksServer(t, [(await createSigner()).jwk])
  const gw = await startGatewayProcess(t, {
    redis: { url: r.url, prefix: r.prefix },
    upstreams: { auth: `http://127.0.0.1:${await freePort()}`, jwks: `${jwks.url}/.well-known/jwks.json`, web: upstreamUrl },
    env: { SHUTDOWN_DRAIN: String(DRAIN_S) },
  })

  // Pooled clients, each with one idle keep-alive connection: the race a drain is for is a
  // client reusing its idle connection just after the gateway began to shut down.
  const agents = Array.from({ length: CLIENTS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }))
  t.teardown(() => agents.forEach((a) => a.destroy()))
  const warm = await Promise.all(agents.map((a) => get(a, `${gw.url}/warm`)))
  const kept = warm.every((o) => o.status === 200 && o.connection === 'keep-alive')
  t.ok(kept, 'every client holds a kept-alive connection')
  const slowAgent = new http.Agent({ keepAlive: true })
  t.teardown(() => slowAgent.destroy())
  const inFlight = Array.from({ length: 4 }, () => get(slowAgent, `${gw.url}/slow`))
  await sleep(100)

  gw.child.kill('SIGTERM')
  await waitFor(() => gw.lines.some((l) => l.includes('"closing"')), DRAIN_S * 1000 - 1000, 'the closing line')
  const onOpen = await Promise.all(agents.map((a, i) => get(a, `${gw.url}/page-${i}`)))
  const fresh = await get(new http.Agent(), `${gw.url}/fresh`)
  const slow = await Promise.all(inFlight)
  const exit = await gw.exited

  t.ok(onOpen.every((o) => o.reused), 'each request went out on the client\'s open connection')
  t.same(onOpen.filter((o) => o.status !== 200), [], 'none of them was reset or refused')
  t.ok(onOpen.every((o) => o.connection === 'close'), 'each was answered with Connection: close')
  t.equal(fresh.error, 'ECONNREFUSED', 'a new connection is refused')
  t.same(slow.map((o) => o.status), [200, 200, 200, 200], 'every in-flight request completed')
  t.same(exit, { code: 0, signal: null }, 'exit code 0')
  t.comment(`drain: ${onOpen.filter((o) => o.status === 200).length}/${CLIENTS} requests on open connections ` +
    `answered during the drain, a new connection got ${fresh.error}, ${slow.length} in-flight completed`)
})
