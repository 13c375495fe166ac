import t from 'tap'
import http from 'node:http'
import Fastify from 'fastify'
import { closeConnectionsWhenDone, drainAndClose } from '../shutdown.js'
import { sleep } from '../../../scripts/testing/wait.js'

interface Answer { status: number, connection: string | undefined, body: string }

function get (agent: http.Agent, port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }))
    }).on('error', reject)
  })
}

t.test('a drain keeps serving open connections with Connection: close, refuses new ones, then closes', async (t) => {
  const app = Fastify({ return503OnClosing: true })
  closeConnectionsWhenDone(app)
  let closedHook = false
  app.addHook('onClose', async () => { closedHook = true })
  app.get('/fast', async () => 'fast')
  app.get('/slow', async () => { await sleep(600); return 'slow' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const pooled = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => pooled.destroy())

  const warm = await get(pooled, port, '/fast')
  t.equal(warm.connection, 'keep-alive', 'before the drain the connection is kept')
  const slow = get(new http.Agent({ keepAlive: true }), port, '/slow')
  await sleep(50)

  const closed = drainAndClose(app, 400)
  await sleep(50)
  const onOpen = await get(pooled, port, '/fast')
  t.same(onOpen, { status: 200, connection: 'close', body: 'fast' }, 'an open connection is answered, then closed')
  const fresh = await get(new http.Agent(), port, '/fast')
    .then(() => 'answered', (err: NodeJS.ErrnoException) => err.code)
  t.equal(fresh, 'ECONNREFUSED', 'a new connection is refused')
  t.same(await slow, { status: 200, connection: 'close', body: 'slow' }, 'the in-flight request completes')
  await closed
  t.ok(closedHook, 'onClose hooks ran')
  t.notOk(app.server.listening, 'the server is closed')
})

t.test('no drain period: close at once', async (t) => {
  const app = Fastify()
  closeConnectionsWhenDone(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const first = drainAndClose(app, 0)
  t.equal(drainAndClose(app, 0), first, 'a second call (SIGTERM and the cluster primary both asking) joins the first')
  await first
  t.notOk(app.server.listening, 'closed')
})
