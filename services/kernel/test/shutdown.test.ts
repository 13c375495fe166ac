/**
 * Graceful close with keep-alive clients: a request in flight when close() starts completes,
 * its response says `Connection: close`, and close() does not wait for the client to drop
 * the (otherwise idle, keep-alive) connection. Real server on port 0, real keep-alive agent.
 */
import t from 'tap'
import http from 'node:http'
import Fastify from 'fastify'
import { closeConnectionsWhenClosing } from '../shutdown.js'

interface Got { status: number, connection: string | undefined, body: string }

t.test('close() during a request: it completes with Connection: close, and close does not hang', async (t) => {
  // The demo services' timeouts: a keep-alive connection would otherwise stay open 72 s.
  const app = Fastify({ return503OnClosing: true, keepAliveTimeout: 72_000 })
  closeConnectionsWhenClosing(app)
  app.get('/healthz', async () => ({ status: 'ok' }))
  let arrived: () => void = () => {}
  const atHandler = new Promise<void>((resolve) => { arrived = resolve })
  app.get('/slow', async () => {
    arrived()
    await new Promise((resolve) => setTimeout(resolve, 300))
    return { done: true }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 })
  t.teardown(() => agent.destroy())

  // A first request leaves an idle keep-alive connection behind; the second is in flight at close.
  const get = (path: string) => new Promise<Got>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }))
    }).on('error', reject)
  })
  const warm = await get('/healthz')
  t.equal(warm.connection, 'keep-alive', 'before close: keep-alive')
  const inFlight = get('/slow')
  await atHandler
  const closed = app.close().then(() => 'closed')
  const res = await inFlight
  t.equal(res.status, 200, 'the in-flight request completed')
  t.same(JSON.parse(res.body), { done: true })
  t.equal(res.connection, 'close', 'its response closes the connection')
  const outcome = await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting'))])
  t.equal(outcome, 'closed', 'close() finished without waiting for the client (keepAliveTimeout is 72 s)')
})
