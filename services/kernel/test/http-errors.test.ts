import t from 'tap'
import Fastify from 'fastify'
import { rejectMissingHost, SERVER_ERROR_OPTIONS } from '../http-errors.js'
import { sendRaw } from '../../../scripts/testing/fuzz.js'
import type { Teardown } from '../../../scripts/testing/wait.js'

async function start (t: Teardown) {
  const app = Fastify({ ...SERVER_ERROR_OPTIONS, maxParamLength: 50 })
  app.addHook('onRequest', rejectMissingHost)
  app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return (app.server.address() as { port: number }).port
}

const bad = (d: string, raw: string, status = 400, error = 'invalid_request') => ({ d, raw, status, error })
const cases = [
  bad('an HTTP/1.1 request without Host', 'GET /items/1 HTTP/1.1\r\n\r\n'),
  bad('a request line Node cannot parse', 'GET /items/1 HTTX/9\r\nHost: x\r\n\r\n'),
  bad('a header name with a space', 'GET /items/1 HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n'),
  bad('Content-Length and Transfer-Encoding together',
    'POST /items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
  bad('headers over the 16 KiB limit', `GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    431, 'headers_too_large'),
  bad('a path parameter that does not decode', 'GET /items/%zz HTTP/1.1\r\nHost: x\r\n\r\n'),
  bad('a path parameter over maxParamLength', `GET /items/${'a'.repeat(60)} HTTP/1.1\r\nHost: x\r\n\r\n`),
]

t.test('requests refused before any route runs get the contract\'s error body', async (t) => {
  const port = await start(t)
  for (const c of cases) {
    const answer = await sendRaw(port, Buffer.from(c.raw, 'latin1'), 2000)
    t.equal(answer.status, c.status, `${c.d}: status`)
    const body = JSON.parse(answer.body || 'null')
    t.match(body, { error: c.error, message: String, statusCode: c.status }, `${c.d}: body`)
    t.notMatch(answer.body, /at .*\.js|FST_ERR/, `${c.d}: no stack or internal code`)
  }
})

t.test('HTTP/1.0 without Host and a well-formed request still pass', async (t) => {
  const port = await start(t)
  const old = await sendRaw(port, Buffer.from('GET /items/7 HTTP/1.0\r\n\r\n'), 2000)
  t.equal(old.status, 200)
  t.same(JSON.parse(old.body), { id: '7' })
  const ok = await sendRaw(port, Buffer.from('GET /items/8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 2000)
  t.equal(ok.status, 200)
  t.same(JSON.parse(ok.body), { id: '8' })
})
