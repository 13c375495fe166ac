/**
 * The per-request rate limits share Redis calls: the counts of one event-loop turn go out
 * in one script call. Counted by Redis itself (MONITOR, on a private redis-server), and the
 * counts must stay exact: parallel requests of one user get every remaining value once.
 */
import t from 'tap'
import { connect } from 'node:net'
import { Redis } from 'ioredis'
import { startRedisServer } from '../../../scripts/local-redis/redis-server.js'
import { bearer, request } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { startCountingUpstream } from '../helpers/browser-fixtures.js'

/** Opens one socket per request, and once the gateway has them all writes every request in one go. */
async function rawRequests (
  base: string,
  requests: string[]
): Promise<Array<{ status: number, headers: Record<string, string> }>> {
  const { port } = new URL(base)
  const connections = async () => await new Promise<number>(
    (resolve) => gw.app.server.getConnections((_err, n) => resolve(n))
  )
  const already = await connections()
  const sockets = await Promise.all(requests.map(() => new Promise<ReturnType<typeof connect>>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })))
  await waitFor(
    async () => await connections() >= already + requests.length, 5000, 'the gateway to accept every connection'
  )
  const answers = sockets.map((socket) => new Promise<string>((resolve) => {
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { text += chunk })
    socket.once('close', () => resolve(text))
  }))
  sockets.forEach((socket, i) => socket.write(requests[i]!))
  return (await Promise.all(answers)).map((text) => {
    const [head = ''] = text.split('\r\n\r\n')
    const [statusLine = '', ...lines] = head.split('\r\n')
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])
    )
    return { status: Number(statusLine.split(' ')[1]), headers }
  })
}

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const upstream = await startCountingUpstream(t)
const server = await startRedisServer()
t.teardown(() => server.stop({ removeDir: true }))
const limit = 40
const gw = await startGateway(t, {
  jwksUrl: `${jwks.url}/.well-known/jwks.json`,
  upstream: upstream.url,
  redis: { url: server.url, prefix: 'test:rl-batch:' },
  config: { rateLimitApi: limit },
})

t.test('parallel requests: exact counts, fewer Redis calls than requests', async (t) => {
  const alice = await signToken(signer, { claims: { sub: 'alice' } })
  const others = await Promise.all(
    Array.from({ length: 10 }, (_, i) => signToken(signer, { claims: { sub: `user-${i}` } }))
  )
  await request(gw.url, '/api/orders', { headers: [bearer(alice)] }) // warm-up: EVALSHA -> NOSCRIPT -> EVAL once

  const monitor = new Redis(server.url)
  t.teardown(() => monitor.disconnect())
  const calls: string[] = []
  const inMonitor = await monitor.monitor()
  t.teardown(() => inMonitor.disconnect())
  inMonitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') calls.push(String(args[0]).toLowerCase())
  })

  // Every request is written in the same tick on its own connected socket, so the gateway
  // finds them all readable in one turn of its event loop (as under load).
  const parallel = 30
  const before = upstream.hits()
  const tokens = [...Array(parallel).fill(alice), ...others]
  const answers = await rawRequests(
    gw.url,
    tokens.map(
      (token) => `GET /api/orders HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`
    )
  )
  const aliceAnswers = answers.slice(0, parallel)
  const otherAnswers = answers.slice(parallel)
  t.same(aliceAnswers.map((r) => r.status), Array(parallel).fill(200))
  const remaining = aliceAnswers.map((r) => Number(r.headers['x-ratelimit-remaining'])).sort((a, b) => b - a)
  // One request before (the warm-up): the 30 parallel ones are counts 2..31.
  t.same(
    remaining,
    Array.from({ length: parallel }, (_, i) => limit - 2 - i),
    'every count exactly once, none lost or doubled'
  )
  t.same(
    otherAnswers.map((r) => r.headers['x-ratelimit-remaining']),
    Array(others.length).fill(String(limit - 1)),
    'each other user counted on their own'
  )
  t.equal(upstream.hits(), before + parallel + others.length)

  await monitor.ping()
  await waitFor(() => calls.includes('ping'), 5000, 'MONITOR to catch up')
  const scriptCalls = calls.filter((c) => c === 'evalsha').length
  t.comment(`${parallel + others.length} counted requests, ${scriptCalls} Redis calls`)
  // All 40 arrive in one turn of the loop: one call (a few if the machine splits the reads).
  t.ok(scriptCalls >= 1 && scriptCalls <= 3, `${scriptCalls} calls for ${parallel + others.length} requests`)
  const stored = await monitor.get('test:rl-batch:rl:api:alice')
  t.equal(stored, String(parallel + 1), 'Redis holds the exact count')
})

t.test('past the limit: 429 for exactly the requests over it', async (t) => {
  const bob = await signToken(signer, { claims: { sub: 'bob' } })
  const answers = await Promise.all(
    Array.from({ length: limit + 5 }, () => request(gw.url, '/api/orders', { headers: [bearer(bob)] }))
  )
  const statuses = answers.map((r) => r.status)
  t.equal(statuses.filter((s) => s === 200).length, limit, `${limit} served`)
  t.equal(statuses.filter((s) => s === 429).length, 5, '5 limited')
  t.same(answers.filter((r) => r.status === 429).map((r) => r.json.error), Array(5).fill('rate_limited'))
})
