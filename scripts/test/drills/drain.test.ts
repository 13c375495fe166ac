/**
 * Drill: the drain on SIGTERM, as nginx does it. Pooled keep-alive clients keep sending
 * while the gateway (a real compiled process) gets SIGTERM with slow requests in flight:
 * during the drain, no request sent on an already-open connection is reset (each is
 * answered, with Connection: close), new connections are refused, every in-flight request
 * completes, and the process exits 0.
 */
import t from 'tap'
import http from 'node:http'
import Fastify from 'fastify'
import { freePort } from '../../local-redis/redis-server.js'
import { useTestRedis } from '../../testing/redis.js'
import { sleep, waitFor } from '../../testing/wait.js'
import { createSigner, startJwksServer } from '../../testing/jwt.js'
import { startGatewayProcess } from './helpers.js'

const CLIENTS = 8
const SLOW_MS = 800
const SEND_AFTER_SIGNAL_MS = 1000

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

t.test('SIGTERM under load: a drain answers every request on open connections, then exits 0', async (t) => {
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
  })

  const agents = Array.from({ length: CLIENTS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }))
  t.teardown(() => agents.forEach((a) => a.destroy()))
  await Promise.all(agents.map((a) => get(a, `${gw.url}/warm`)))

  let signalAt = 0
  const duringDrain: Outcome[] = []
  const sending = { stop: false }
  const loops = agents.map(async (agent, i) => {
    while (!sending.stop) {
      const sentAt = performance.now()
      const outcome = await get(agent, `${gw.url}/page-${i}`)
      if (signalAt > 0 && sentAt >= signalAt) duringDrain.push(outcome)
      if (outcome.status === 0) await sleep(20)
    }
  })
  await sleep(300)
  const slowAgent = new http.Agent({ keepAlive: true })
  t.teardown(() => slowAgent.destroy())
  const inFlight = Array.from({ length: 4 }, () => get(slowAgent, `${gw.url}/slow`))
  await sleep(100)
  signalAt = performance.now()
  gw.child.kill('SIGTERM')
  await sleep(SEND_AFTER_SIGNAL_MS)
  sending.stop = true
  await Promise.all(loops)
  const slow = await Promise.all(inFlight)
  const exit = await gw.exited

  const onOpen = duringDrain.filter((o) => o.reused)
  const reset = onOpen.filter((o) => o.status === 0)
  t.ok(onOpen.length >= CLIENTS / 2, `requests were sent on open connections during the drain (${onOpen.length})`)
  t.same(reset, [], 'none of them was reset')
  t.ok(onOpen.every((o) => o.status === 200 && o.connection === 'close'), 'each was answered with Connection: close')
  const fresh = duringDrain.filter((o) => !o.reused)
  t.ok(fresh.every((o) => o.error === 'ECONNREFUSED'), 'new connections were refused')
  t.same(slow.map((o) => o.status), [200, 200, 200, 200], 'every in-flight request completed')
  t.same(exit, { code: 0, signal: null }, 'exit code 0')
  await waitFor(() => gw.lines.some((l) => l.includes('"closing"')), 1000, 'closing log line')
  t.comment(`drain: ${onOpen.length} requests on open connections answered, ${reset.length} reset; ` +
    `${fresh.length} new connections refused; ${slow.length} in-flight completed`)
})
