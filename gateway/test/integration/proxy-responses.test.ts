/**
 * What the gateway does with an upstream's answer: small answers of known length are read
 * whole and sent in one write, anything else streams through as it comes; a body cut short
 * is a 502, never a truncated 200; hop-by-hop headers and headers the upstream's Connection
 * names stay on the upstream connection.
 */
import http from 'node:http'
import t from 'tap'
import { request } from '../../../scripts/testing/http.js'
import { startGateway } from '../helpers/fixtures.js'
import { startJwksServer, createSigner } from '../../../scripts/testing/jwt.js'

const LARGE = 'x'.repeat(300 * 1024)
let releaseStream: () => void = () => {}
let releaseLarge: () => void = () => {}
const upstream = http.createServer((req, res) => {
  switch (req.url) {
    case '/small':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' })
      res.end('{"ok":true}')
      return
    case '/large':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(LARGE.length) })
      res.end(LARGE)
      return
    case '/large-held': // over the buffering size: its start must reach the client before its end is sent
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(LARGE.length) })
      res.write(LARGE.slice(0, 1024))
      releaseLarge = () => res.end(LARGE.slice(1024))
      return
    case '/small-slow': // under it: sent only once whole
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' })
      res.write('{"ok":')
      setTimeout(() => res.end('true}'), 150)
      return
    case '/stream': // no length: the first event must reach the client before the upstream ends
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: first\n\n')
      releaseStream = () => res.end('data: last\n\n')
      return
    case '/truncated':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"partial":')
      setTimeout(() => res.destroy(), 20)
      return
    case '/hop':
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive, x-upstream-hop',
        'keep-alive': 'timeout=5',
        'x-upstream-hop': 'for the gateway only',
        'access-control-allow-origin': '*',
        'x-kept': 'yes',
      })
      res.end('{}')
      return
    default:
      res.writeHead(404).end()
  }
})
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`
const jwks = await startJwksServer(t, [(await createSigner()).jwk])
const gw = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: upstreamUrl })

t.test('a small answer arrives whole, with its length', async (t) => {
  const res = await request(gw.url, '/small')
  t.equal(res.status, 200)
  t.same(res.json, { ok: true })
  t.equal(res.headers['content-length'], '11')
  t.equal(res.headers['transfer-encoding'], undefined, 'not chunked')
  const head = await request(gw.url, '/small', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers['content-length'], '11', 'HEAD keeps the length of the body it does not carry')
  t.equal(head.text, '')
})

t.test('a small answer is sent once it is whole: headers and body together', async (t) => {
  const { port } = new URL(gw.url)
  const started = Date.now()
  const { waitedMs, body } = await new Promise<{ waitedMs: number, body: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/small-slow', agent: false }, (res) => {
      const waitedMs = Date.now() - started
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ waitedMs, body }))
    }).on('error', reject)
  })
  t.ok(waitedMs >= 140, `the answer started only after the upstream finished (${waitedMs} ms)`)
  t.equal(body, '{"ok":true}')
})

t.test('a large answer streams: its start arrives before the upstream sends its end', async (t) => {
  const { port } = new URL(gw.url)
  let received = 0
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/large-held', agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (received === 0) releaseLarge()
        received += chunk.length
      })
      res.on('end', resolve)
    }).on('error', reject)
  })
  t.equal(received, LARGE.length, 'all of it, once the upstream sent the rest')
})

t.test('a large answer streams through intact', async (t) => {
  const res = await request(gw.url, '/large')
  t.equal(res.status, 200)
  t.equal(res.text.length, LARGE.length)
  t.ok(res.text === LARGE, 'byte for byte')
})

t.test('an answer without a length streams: the first event arrives before the upstream ends', async (t) => {
  const { port } = new URL(gw.url)
  const chunks: string[] = []
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/stream', agent: false }, (res) => {
      t.equal(res.statusCode, 200)
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        chunks.push(chunk)
        if (chunks.join('').includes('first') && !chunks.join('').includes('last')) releaseStream()
      })
      res.on('end', resolve)
    }).on('error', reject)
  })
  t.match(chunks[0], /data: first/, 'the first chunk came alone')
  t.match(chunks.join(''), /data: first[\s\S]*data: last/)
})

t.test('a body cut short is a 502, not a truncated 200', async (t) => {
  const res = await request(gw.url, '/truncated')
  t.equal(res.status, 502)
  t.equal(res.json?.error, 'bad_gateway')
  t.type(res.json?.message, 'string')
})

t.test('hop-by-hop headers and CORS headers of the upstream do not reach the client', async (t) => {
  const res = await request(gw.url, '/hop', { headers: [['Origin', 'http://evil.test']] })
  t.equal(res.status, 200)
  t.equal(res.headers.connection, 'close', 'the client asked for close, and got it (not the upstream\'s keep-alive)')
  t.equal(res.headers['keep-alive'], undefined)
  t.equal(res.headers['x-upstream-hop'], undefined, 'a header the upstream\'s Connection named')
  t.equal(
    res.headers['access-control-allow-origin'], undefined, 'CORS is the gateway\'s: no grant for a foreign origin'
  )
  t.equal(res.headers['x-kept'], 'yes', 'other headers pass')
})
