/**
 * Stage 2 and the body guard: oversized bodies are refused at the edge with 413, early answers
 * close the connection instead of leaving a client mid-upload, and a pooled client goes on.
 */
import t from 'tap'
import http from 'node:http'
import { connect } from 'node:net'
import Fastify from 'fastify'
import { BODY_LIMIT } from '../../../services/kernel/limits.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { sendRaw } from '../../../scripts/testing/fuzz.js'
import { startGateway } from '../helpers/fixtures.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const received: Array<{ url: string, bytes: number }> = []
const upstream = Fastify({ bodyLimit: 64 * 1024 * 1024 })
upstream.removeAllContentTypeParsers()
upstream.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
upstream.all('/*', async (request) => {
  received.push({ url: request.url, bytes: (request.body as Buffer | undefined)?.length ?? 0 })
  return { ok: true }
})
await upstream.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => upstream.close())
const upstreamUrl = `http://127.0.0.1:${(upstream.server.address() as { port: number }).port}`
const gw = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: upstreamUrl })
const port = Number(new URL(gw.url).port)
const token = await signToken(signer)

interface Answer { status: number, connection: string | undefined, body: string }
function post (agent: http.Agent, path: string, body: Buffer | string, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const options = { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }
    const req = http.request(`${gw.url}${path}`, options, (res) => {
      let text = ''
      res.on('data', (d) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('a Content-Length over the rule\'s limit is 413 at the gateway; nothing reaches the upstream', async (t) => {
  const before = received.length
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const big = Buffer.alloc(BODY_LIMIT + 1, 'a')
  const answer = await post(agent, '/auth/login', big)
  t.equal(answer.status, 413)
  t.same(JSON.parse(answer.body), {
    error: 'payload_too_large',
    message: `The request body is over the ${BODY_LIMIT}-byte limit of this route`,
    statusCode: 413,
  })
  t.equal(answer.connection, 'close', 'the connection closes after the answer')
  const atLimit = await post(agent, '/auth/login', Buffer.alloc(BODY_LIMIT, 'a'))
  t.equal(atLimit.status, 200, `a body at the limit goes through: ${atLimit.body}`)
  t.equal(received.length, before + 1, 'only the one within the limit reached the upstream')
  t.equal(received.at(-1)?.bytes, BODY_LIMIT)
})

t.test('a pooled client\'s next request after an oversized upload is answered', async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  for (let i = 0; i < 3; i++) {
    const refused = await post(agent, '/auth/register', Buffer.alloc(2 * 1024 * 1024, 'x'))
    t.equal(refused.status, 413, `oversized upload ${i + 1}: 413`)
    const next = await new Promise<number>((resolve, reject) => {
      http.get(`${gw.url}/healthz`, { agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      }).on('error', reject)
    })
    t.equal(next, 200, 'the request after it: 200 on the same pool')
  }
})

t.test('a chunked body over the limit is cut at the limit and answered 413, not 502', async (t) => {
  const before = received.length
  const agent = new http.Agent({ keepAlive: false })
  const answer = await new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${gw.url}/api/orders`, {
      method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    }, (res) => {
      let text = ''
      res.on('data', (d) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }))
    })
    req.on('error', reject)
    let sent = 0
    const write = () => {
      while (sent < 256 * 1024) {
        sent += 8192
        if (!req.write(Buffer.alloc(8192, 'c'))) { req.once('drain', write); return }
      }
      req.end()
    }
    write()
  })
  t.equal(answer.status, 413)
  t.match(JSON.parse(answer.body), { error: 'payload_too_large', statusCode: 413 })
  t.ok(received.slice(before).every((r) => r.bytes <= BODY_LIMIT), 'the upstream never got more than the limit')
})

t.test('an early 401 to an upload in progress is sent at once and closes the connection', async (t) => {
  const answer = await new Promise<{ head: string, whileUploading: boolean }>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const head = 'POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
      socket.write(`${head}Content-Length: ${BODY_LIMIT}\r\n\r\n`)
      socket.write('{"item":"')
    })
    let head = ''
    socket.on('data', (d) => {
      head += d.toString('latin1')
      if (head.includes('\r\n\r\n')) { resolve({ head, whileUploading: true }); socket.destroy() }
    })
    socket.on('error', reject)
  })
  t.match(answer.head, /^HTTP\/1\.1 401 /, 'the 401 came while the body was still unsent')
  t.match(answer.head, /\r\nconnection: close\r\n/i)
})

t.test('HTTP/1.1 without Host is a JSON 400; HTTP/1.0 without it is served', async (t) => {
  const missing = await sendRaw(port, Buffer.from('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'), 2000)
  t.equal(missing.status, 400)
  const body = { error: 'invalid_request', message: 'The Host header is required', statusCode: 400 }
  t.same(JSON.parse(missing.body), body)
  const old = await sendRaw(port, Buffer.from('GET /healthz HTTP/1.0\r\n\r\n'), 2000)
  t.equal(old.status, 200)
})
