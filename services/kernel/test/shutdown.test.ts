/**
 * Graceful close with keep-alive clients: a request in flight when close() starts completes,
 * its response says `Connection: close`, and close() does not wait for the client to drop
 * the (otherwise idle, keep-alive) connection. Real server on port 0, real keep-alive agent.
 */
import t from 'tap'
import http from 'node:http'
import { connect } from 'node:net'
import Fastify from 'fastify'
import { closeConnectionsWhenDone } from '../shutdown.js'

interface Got { status: number, connection: string | undefined, body: string }

t.test('close() during a request: it completes with Connection: close, and close does not hang', async (t) => {
  // The demo services' timeouts: a keep-alive connection would otherwise stay open 72 s.
  const app = Fastify({ return503OnClosing: true, keepAliveTimeout: 72_000 })
  closeConnectionsWhenDone(app)
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

t.test('an answer sent before the request body was read closes the connection; others keep it', async (t) => {
  const app = Fastify()
  closeConnectionsWhenDone(app)
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/early') return reply.code(401).send({ error: 'invalid_token' })
  })
  app.post('/read', async (request) => ({ bytes: JSON.stringify(request.body).length }))
  app.get('/plain', async () => 'ok')
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const head = (raw: string) => new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(raw))
    let text = ''
    socket.on('data', (d) => {
      text += d.toString('latin1')
      if (text.includes('\r\n\r\n')) { socket.destroy(); resolve(text) }
    })
    socket.on('error', reject)
  })
  const upload = 'Host: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"a":"'
  t.match(await head(`POST /early HTTP/1.1\r\n${upload}`), /^HTTP\/1\.1 401[^]*\r\nconnection: close\r\n/i,
    'the early 401, mid-upload: Connection: close')
  const body = '{"a":1}'
  const whole = `Host: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  const read = await head(`POST /read HTTP/1.1\r\n${whole}`)
  t.match(read, /^HTTP\/1\.1 200[^]*\r\nconnection: keep-alive\r\n/i, 'a body read whole: the connection is kept')
  t.match(await head('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n'), /\r\nconnection: keep-alive\r\n/i, 'no body: kept')
})
