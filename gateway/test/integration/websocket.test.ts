import t from 'tap'
import { decodeJwt } from 'jose'
import { REVOCATION } from '../../../auth-service/src/contract.js'
import { createDpopKey, makeProof } from '../../../scripts/testing/dpop.js'
import { request } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { nextMessage, openSocket, startWsUpstream, type Opened } from '../../../scripts/testing/websocket.js'
import { startGateway } from '../helpers/fixtures.js'
import { compileFile } from '../helpers/gateway-file.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const jwksUrl = `${jwks.url}/.well-known/jwks.json`
const upstream = await startWsUpstream(t)
const routes = `
providers:
  - { id: local, issuer: urn:jwt-edge:auth, audience: urn:jwt-edge:api, jwksUrl: ${jwksUrl}, revocation: true }
routes:
  - { id: live, prefix: /api/live, upstream: ${upstream.url}, rewritePrefix: /feed, auth: required, websocket: true }
  - id: small
    prefix: /api/small
    upstream: ${upstream.url}
    auth: required
    websocket: { maxMessageBytes: 1024, maxBufferedBytes: 65536 }
    idleTimeout: 600
  - { id: brief, prefix: /api/brief, upstream: ${upstream.url}, auth: required, websocket: true, maxLifetime: 700 }
  - { id: plain, prefix: /api/plain, upstream: ${upstream.url}, auth: required }
  - { id: open, prefix: /open, upstream: ${upstream.url}, auth: none, websocket: true }
`
const redis = await useTestRedis(t)
const gatewayOptions = {
  jwksUrl,
  redis,
  config: { clockToleranceS: 1, gatewayPublicOrigins: ['http://app.test'], corsOrigins: [] },
}
const file = compileFile(routes, 'test.yaml', {})
const gw = await startGateway(t, { ...gatewayOptions, deps: { file } })

const tokenFor = async (claims: Record<string, unknown> = {}) => await signToken(signer, { claims })
const bearerHeaders = (token: string) => ({ authorization: `Bearer ${token}` })
const cookieHeaders = (token: string, origin?: string) => ({
  cookie: `access_token=${token}`, ...(origin === undefined ? {} : { origin }),
})

async function mustOpen (path: string, headers: Record<string, string>, protocols: string[] = []) {
  const opened = await openSocket(`${gw.url}${path}`, headers, protocols)
  if (!opened.ok) throw new Error(`refused: ${opened.status} ${JSON.stringify(opened.body)}`)
  return opened
}
type Checks = { notOk: (v: unknown, m: string) => void }
async function mustRefuse (t: Checks, path: string, headers: Record<string, string>) {
  const opened: Opened = await openSocket(`${gw.url}${path}`, headers)
  t.notOk(opened.ok, 'refused')
  if (opened.ok) { opened.ws.terminate(); throw new Error('opened') }
  return opened
}
const revokeSession = async (prefix: string, sid: string) => {
  const until = Date.now() + 60_000
  await redis.client.zadd(REVOCATION.sessionsKey(prefix), until, sid)
  const message = { type: 'session', sid, until, at: Date.now() }
  await redis.client.publish(REVOCATION.channel(prefix), JSON.stringify(message))
}
const metrics = async () => (await request(gw.url, '/metrics')).text

t.test('an upgrade without a token is the 401 a plain request gets, as JSON', async (t) => {
  const refused = await mustRefuse(t, '/api/live/x', {})
  t.equal(refused.status, 401)
  t.equal(refused.body.error, 'invalid_token')
  t.match(refused.headers['www-authenticate'], /^Bearer error="invalid_token"/)
  t.equal(upstream.handshakes.filter((h) => h.url.startsWith('/feed/x')).length, 0, 'the upstream never saw it')
  t.match(await metrics(), /gateway_websocket_upgrade_refusals_total\{reason="unauthorized"\} [1-9]/)
})

t.test('with a Bearer token: open, identity headers upstream, path rewritten, messages both ways', async (t) => {
  const token = await tokenFor({ sub: 'user-ws' })
  const before = upstream.handshakes.length
  const opened = await mustOpen('/api/live/room?x=1', { ...bearerHeaders(token), 'x-user-id': 'forged' }, ['chat.v2'])
  t.equal(opened.protocol, 'chat.v2', "the upstream's subprotocol")
  const seen = upstream.handshakes[before]!
  t.equal(seen.url, '/feed/room?x=1')
  t.equal(seen.headers['x-user-id'], 'user-ws', 'the verified subject, not the forged one')
  t.equal(seen.headers['x-session-id'], decodeJwt(token).sid)
  t.ok(seen.headers['x-identity-token'], 'the signed assertion')
  t.notOk(seen.headers.authorization, 'the token stays at the gateway')
  opened.ws.send('hello')
  t.equal(await nextMessage(opened.ws), 'hello')
  t.match(await metrics(), /gateway_live_connections\{kind="websocket"\} [1-9]/)
  opened.ws.close(1000)
  const closed = await opened.closed
  t.equal(closed.code, 1000)
  const counted = /gateway_live_connection_closes_total\{kind="websocket",reason="client"\} [1-9]/
  await waitFor(async () => counted.test(await metrics()), 2000, 'counted')
})

t.test('with the access cookie: our Origin opens, a foreign or missing Origin is refused (403)', async (t) => {
  const token = await tokenFor()
  const opened = await mustOpen('/api/live/c', cookieHeaders(token, 'http://app.test'))
  opened.ws.close()
  for (const origin of ['http://evil.test', undefined]) {
    const refused = await mustRefuse(t, '/api/live/c', cookieHeaders(token, origin))
    t.equal(refused.status, 403, `origin ${origin}`)
    t.equal(refused.body.error, 'csrf_failed')
  }
})

t.test('an upgrade to a route without websocket: 400 websocket_not_allowed; plain GETs still work', async (t) => {
  const token = await tokenFor()
  const refused = await mustRefuse(t, '/api/plain/x', bearerHeaders(token))
  t.equal(refused.status, 400)
  t.equal(refused.body.error, 'websocket_not_allowed')
  const res = await request(gw.url, '/api/plain/x', { headers: [['authorization', `Bearer ${token}`]] })
  t.equal(res.status, 200)
})

t.test("the upstream's refusal is relayed; an upstream that is down is a JSON 502", async (t) => {
  const refused = await mustRefuse(t, '/open/../refuse', {})
  t.ok([400, 404].includes(refused.status), `a traversal is refused by the gateway (${refused.status})`)
  const relayed = await mustRefuse(t, '/open/refuse', {})
  t.same({ status: relayed.status, body: relayed.body }, { status: 403, body: { error: 'forbidden' } })
  const down = compileFile(`
providers:
  - { id: local, issuer: urn:jwt-edge:auth, audience: urn:jwt-edge:api, jwksUrl: ${jwksUrl}, revocation: true }
routes:
  - { id: down, prefix: /down, upstream: 'http://127.0.0.1:9', auth: none, websocket: true }
`, 'down.yaml', {})
  const other = await startGateway(t, { ...gatewayOptions, deps: { file: down } })
  const failed = await openSocket(`${other.url}/down/x`)
  t.notOk(failed.ok)
  if (!failed.ok) t.same({ status: failed.status, error: failed.body.error }, { status: 502, error: 'bad_gateway' })
})

t.test('a session revoked: its socket closes with 4401 within 1 s, another session stays open', async (t) => {
  const mine = await tokenFor({ sub: 'user-rev' })
  const theirs = await tokenFor({ sub: 'user-rev' })
  const a = await mustOpen('/api/live/a', bearerHeaders(mine))
  const b = await mustOpen('/api/live/b', bearerHeaders(theirs))
  const published = Date.now()
  await revokeSession(gw.prefix, decodeJwt(mine).sid as string)
  const closed = await a.closed
  t.comment(`revocation published -> 4401: ${closed.at - published} ms`)
  t.equal(closed.code, 4401)
  t.equal(closed.reason, 'session revoked')
  t.ok(closed.at - published < 1000, 'within 1 s')
  b.ws.send('still here')
  t.equal(await nextMessage(b.ws), 'still here')
  b.ws.close()
})

t.test("a user's not-before closes the sockets of older tokens only", async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const old = await mustOpen('/api/live/o', bearerHeaders(await tokenFor({ sub: 'user-nbf', iat: now - 60 })))
  const fresh = await mustOpen('/api/live/f', bearerHeaders(await tokenFor({ sub: 'user-nbf', iat: now + 1 })))
  const notBefore = (now - 10) * 1000
  await redis.client.zadd(REVOCATION.usersKey(gw.prefix), notBefore, 'user-nbf')
  await redis.client.publish(REVOCATION.channel(gw.prefix), JSON.stringify({
    type: 'user', sub: 'user-nbf', notBefore, until: Date.now() + 60_000,
  }))
  t.equal((await old.closed).code, 4401)
  fresh.ws.send('ok')
  t.equal(await nextMessage(fresh.ws), 'ok')
  fresh.ws.close()
})

t.test('a short-lived token: the socket closes at exp + the clock tolerance, not before', async (t) => {
  const exp = Math.floor(Date.now() / 1000) + 2
  const opened = await mustOpen('/api/live/ttl', bearerHeaders(await tokenFor({ exp })))
  const closed = await opened.closed
  const deadline = (exp + 1) * 1000
  t.comment(`closed ${closed.at - deadline} ms after exp + tolerance`)
  t.equal(closed.code, 4401)
  t.equal(closed.reason, 'token expired')
  t.ok(closed.at >= deadline, 'not before exp + tolerance')
  t.ok(closed.at < deadline + 1000, 'soon after')
})

t.test('an event stream through the gateway ends at exp + tolerance; the upstream stream is released', async (t) => {
  const exp = Math.floor(Date.now() / 1000) + 2
  const res = await fetch(`${gw.url}/api/live/sse`, { headers: bearerHeaders(await tokenFor({ exp })) })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  const text = await res.text()
  const events = (text.match(/^data: /gm) ?? []).length
  const ended = Date.now()
  t.ok(ended >= (exp + 1) * 1000 && ended < (exp + 2) * 1000, `ended ${ended - (exp + 1) * 1000} ms after the deadline`)
  t.ok(events >= 10, `events kept flowing until then (${events})`)
  await waitFor(async () => upstream.openStreams() === 0, 2000, 'upstream stream closed')
  t.match(await metrics(), /gateway_live_connection_closes_total\{kind="sse",reason="expired"\} 1/)
})

t.test('a message over the route limit closes that socket only (1009); the gateway keeps serving', async (t) => {
  const token = await tokenFor()
  const big = await mustOpen('/api/small/big', bearerHeaders(token))
  const other = await mustOpen('/api/small/other', bearerHeaders(token))
  big.ws.send('x'.repeat(2048))
  t.equal((await big.closed).code, 1009)
  other.ws.send('fine')
  t.equal(await nextMessage(other.ws), 'fine')
  other.ws.close()
  t.equal((await request(gw.url, '/healthz')).status, 200)
})

t.test('a malformed frame closes that socket only (1002)', async (t) => {
  const token = await tokenFor()
  const bad = await mustOpen('/api/small/bad', bearerHeaders(token))
  const other = await mustOpen('/api/small/ok', bearerHeaders(token))
  const raw = (bad.ws as unknown as { _socket: import('node:net').Socket })._socket
  raw.write(Buffer.from([0x8f, 0x80, 0, 0, 0, 0])) // opcode 0xF does not exist
  t.equal((await bad.closed).code, 1002)
  other.ws.send('fine')
  t.equal(await nextMessage(other.ws), 'fine')
  other.ws.close()
})

t.test('an idle socket closes at the route idleTimeout (4408)', async (t) => {
  const opened = await mustOpen('/api/small/idle', bearerHeaders(await tokenFor()))
  const started = Date.now()
  const closed = await opened.closed
  t.equal(closed.code, 4408)
  t.ok(closed.at - started >= 500, `after ${closed.at - started} ms`)
})

t.test('a socket is closed at the route maxLifetime (4408) however busy it is', async (t) => {
  const opened = await mustOpen('/api/brief/x', bearerHeaders(await tokenFor()))
  const started = Date.now()
  const chatter = setInterval(() => opened.ws.send('busy'), 100) // never idle
  const closed = await opened.closed
  clearInterval(chatter)
  t.same({ code: closed.code, reason: closed.reason }, { code: 4408, reason: 'maximum lifetime reached' })
  t.ok(closed.at - started >= 650 && closed.at - started < 1700, `after ${closed.at - started} ms`)
})

t.test('an event stream ends within 1 s of its session\'s revocation; the upstream stream is released', async (t) => {
  const token = await tokenFor()
  const res = await fetch(`${gw.url}/api/live/sse-revoked`, { headers: bearerHeaders(token) })
  t.equal(res.status, 200)
  const text = res.text()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const revoked = Date.now()
  await revokeSession(gw.prefix, decodeJwt(token).sid as string)
  t.match(await text, /^data: /m, 'events came before')
  const ms = Date.now() - revoked
  t.comment(`revocation published -> event stream ended: ${ms} ms`)
  t.ok(ms < 1000, 'within 1 s')
  await waitFor(async () => upstream.openStreams() === 0, 2000, 'upstream stream closed')
  t.match(await metrics(), /gateway_live_connection_closes_total\{kind="sse",reason="revoked"\} 1/)
})

t.test('a slow reader: the gateway stops reading the upstream instead of buffering', async (t) => {
  const before = upstream.sockets.length
  const opened = await mustOpen('/api/small/slow', bearerHeaders(await tokenFor()))
  const far = upstream.sockets[before]!
  const socket = (opened.ws as unknown as { _socket: import('node:net').Socket })._socket
  socket.pause() // the client reads nothing more
  const chunk = Buffer.alloc(1000, 1)
  let sent = 0
  const deadline = Date.now() + 3000
  while (Date.now() < deadline && far.bufferedAmount < 4 * 1024 * 1024) {
    far.send(chunk)
    sent += chunk.length
    if (sent % 100_000 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  t.comment(`upstream sent ${sent} bytes, ${far.bufferedAmount} still queued at the upstream`)
  t.ok(far.bufferedAmount > 2 * 1024 * 1024, 'the upstream is held back: the gateway did not take it all')
  opened.ws.terminate()
})

t.test('two gateways on one Redis: one published revocation closes the sockets on both', async (t) => {
  const second = await startGateway(t, { ...gatewayOptions, deps: { file } })
  const token = await tokenFor({ sub: 'user-two' })
  const one = await mustOpen('/api/live/1', bearerHeaders(token))
  const two = await openSocket(`${second.url}/api/live/2`, bearerHeaders(token))
  if (!two.ok) throw new Error('refused')
  const published = Date.now()
  await revokeSession(gw.prefix, decodeJwt(token).sid as string)
  const [a, b] = await Promise.all([one.closed, two.closed])
  t.comment(`both closed ${Math.max(a.at, b.at) - published} ms after one publish`)
  t.same([a.code, b.code], [4401, 4401])
  t.ok(Math.max(a.at, b.at) - published < 1000)
})

t.test('a JWKS refetch without the signing key closes its sockets', async (t) => {
  const other = await createSigner()
  jwks.setKeys([signer.jwk, other.jwk])
  const token = await signToken(other)
  const refetched = gw.app.gatewayKeys.refresh()
  await refetched
  const opened = await mustOpen('/api/live/k', bearerHeaders(token))
  jwks.setKeys([signer.jwk])
  await gw.app.gatewayKeys.refresh()
  const closed = await opened.closed
  t.same({ code: closed.code, reason: closed.reason }, { code: 4401, reason: 'session revoked' })
})

t.test('closing the gateway closes its sockets with 1001', async (t) => {
  const other = await startGateway(t, { ...gatewayOptions, deps: { file } })
  const opened = await openSocket(`${other.url}/api/live/bye`, bearerHeaders(await tokenFor()))
  if (!opened.ok) throw new Error('refused')
  await other.app.close()
  t.equal((await opened.closed).code, 1001)
})

t.test('a DPoP-bound browser session: the proof as a `dpop.` subprotocol, the token as cookie or token.', async (t) => {
  const key = await createDpopKey()
  const token = await tokenFor({ cnf: { jkt: key.jkt } })
  const htu = 'http://app.test/api/live/dpop'
  const proof = async () => `dpop.${await makeProof(key, { htm: 'GET', htu, accessToken: token })}`
  const cookieOnly = await mustRefuse(t, '/api/live/dpop', cookieHeaders(token, 'http://app.test'))
  t.same([cookieOnly.status, cookieOnly.body.error], [401, 'invalid_token'], 'a bound cookie without a proof')
  const before = upstream.handshakes.length
  const offered = [await proof()]
  const opened = await mustOpen('/api/live/dpop', cookieHeaders(token, 'http://app.test'), offered)
  t.equal(opened.protocol, offered[0], 'the answer names the offered entry when the upstream picks none')
  const seen = upstream.handshakes[before]!.headers
  t.notOk(seen['sec-websocket-protocol'], 'the proof is not offered upstream')
  t.notOk(seen.dpop ?? seen.authorization, 'neither proof nor token upstream')
  opened.ws.close()
  const withChat = await mustOpen('/api/live/dpop', cookieHeaders(token, 'http://app.test'), ['chat.v2', await proof()])
  t.equal(withChat.protocol, 'chat.v2', "the upstream's pick when it makes one")
  withChat.ws.close()
  const inMemory = await mustOpen('/api/live/dpop', { origin: 'http://app.test' }, [await proof(), `token.${token}`])
  t.match(inMemory.protocol, /^dpop\./, 'the token as a `token.` entry, no cookie: open, and never named back')
  t.notOk(upstream.handshakes.at(-1)!.headers['sec-websocket-protocol'], 'neither entry upstream')
  inMemory.ws.close()
  const reused = await openSocket(`${gw.url}/api/live/dpop`, cookieHeaders(token, 'http://app.test'), offered)
  t.same(reused.ok ? 'opened' : [reused.status, reused.body.error], [401, 'invalid_dpop_proof'], 'a proof once only')
})
