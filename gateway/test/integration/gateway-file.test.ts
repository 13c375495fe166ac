/**
 * The gateway on a file of one's own (written to a temp dir, loaded as server.ts loads it):
 * longest prefix on segment boundaries, methods, auth required / optional / none, roles per
 * method, rate limits by IP and by user, a per-route timeout. Real HTTP, Redis and RS256 tokens.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadGatewayFile } from '../../src/gateway-file/index.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'

const signer = await createSigner()
const other = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const a = await startEchoUpstream(t, 'a')
const b = await startEchoUpstream(t, 'b')

// The file's ${VAR} placeholders, escaped in the template literal.
const FILE = `
providers:
  - id: local
    issuer: \${JWT_ISSUER:-urn:jwt-edge:auth}
    audience: [urn:jwt-edge:api, urn:other]
    jwksUrl: \${JWKS_URL}
    revocation: true
routes:
  - { id: shop, prefix: /shop, methods: [GET], upstream: '\${A}', auth: none }
  - { id: shop-admin, prefix: /shop/admin, upstream: '\${B}', auth: required, rewritePrefix: /admin }
  - { id: cart, prefix: /shop/cart, methods: [POST], upstream: '\${B}', auth: none, rewritePrefix: /cart }
  - { id: feed, prefix: /feed, upstream: '\${A}', auth: optional, roles: { DELETE: [admin] } }
  - id: staff
    prefix: /staff
    upstream: \${B}
    auth: required
    roles: { DELETE: [admin], '*': [staff] }
  - { id: by-ip, prefix: /by-ip, upstream: '\${A}', auth: none, rateLimit: { key: ip, perMinute: 2 } }
  - { id: by-user, prefix: /by-user, upstream: '\${A}', auth: required, rateLimit: { key: user, perMinute: 2 } }
  - { id: slowpoke, prefix: /slowpoke, upstream: '\${A}', auth: none, timeout: 200 }
  - { id: exact, prefix: /only, exact: true, upstream: '\${A}', auth: none }
notFoundPrefixes: [/shop/hidden]
`

const dir = t.testdir({})
const path = join(dir, 'gateway.yaml')
writeFileSync(path, FILE)
const loaded = await loadGatewayFile(path, { A: a.url, B: b.url, JWKS_URL: `${jwks.url}/.well-known/jwks.json` })
if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
const gw = await startGateway(t, { jwksUrl: 'http://127.0.0.1:9/unused', deps: { file: loaded.file } })

const token = (sub: string, roles: string[], claims: Record<string, unknown> = {}) =>
  signToken(signer, { claims: { sub, roles, ...claims } })
const get = (path: string, opts: Parameters<typeof request>[2] = {}) => request(gw.url, path, opts)

t.test('the provider from the file: its jwksUrl and a list audience', async (t) => {
  const res = await get('/feed', { headers: [bearer(await token('u1', ['user'], { aud: 'urn:other' }))] })
  t.equal(res.status, 200, 'a token for the second audience')
  t.equal(res.json.headers['x-user-id'], 'u1')
})

t.test('longest prefix wins, on path-segment boundaries', async (t) => {
  const staff = await token('s1', ['staff'])
  t.match((await get('/shop/items/1')).json, { upstream: 'a', url: '/shop/items/1' })
  t.match((await get('/shop')).json, { upstream: 'a', url: '/shop' })
  const admin = await get('/shop/admin/x', { headers: [bearer(staff)] })
  t.match(admin.json, { upstream: 'b', url: '/admin/x' }, 'the longer prefix, rewritten')
  t.equal((await get('/shop/admin/x')).status, 401, 'and its policy: auth required')
  t.equal((await get('/shop/administrator')).json.upstream, 'a', '/shop/administrator is not under /shop/admin')
  const shopping = await get('/shopping')
  t.equal(shopping.status, 404, '/shopping is not under /shop')
  t.match(shopping.json, { error: 'not_found' })
  t.equal((await get('/only')).json.upstream, 'a')
  t.equal((await get('/only/more')).status, 404, 'exact: no sub-paths')
  const hidden = await get('/shop/hidden/page')
  t.equal(hidden.status, 404, 'a not-found prefix never falls through to the shorter route')
  t.match(hidden.json, { error: 'not_found' })
})

t.test('methods: a method a route does not list goes to the shorter route, or is a JSON 404', async (t) => {
  const post = await get('/shop/cart', { method: 'POST', body: '{}', headers: [['content-type', 'application/json']] })
  t.match(post.json, { upstream: 'b', method: 'POST', url: '/cart' })
  t.match((await get('/shop/cart')).json, { upstream: 'a', method: 'GET', url: '/shop/cart' }, 'GET: the shorter /shop')
  const del = await get('/shop/cart', { method: 'DELETE' })
  t.equal(del.status, 404, 'DELETE: neither route takes it')
  t.match(del.json, { error: 'not_found' })
  t.equal((await get('/shop/x', { method: 'PUT', body: '' })).status, 404)
})

t.test('auth: optional', async (t) => {
  const anonymous = await get('/feed/x', { headers: [['x-user-id', 'forged']] })
  t.equal(anonymous.status, 200, 'no token: forwarded')
  t.equal(anonymous.json.headers['x-user-id'], undefined, 'with no identity headers (a forged one stripped)')
  t.equal(anonymous.json.headers['x-user-roles'], undefined)
  const signed = await get('/feed/x', { headers: [bearer(await token('u1', ['user']))] })
  t.equal(signed.json.headers['x-user-id'], 'u1', 'a valid token: identity headers as usual')
  t.equal(signed.json.headers['x-user-roles'], 'user')
  const bad = await get('/feed/x', { headers: [bearer(await signToken(other, { claims: { sub: 'u1' } }))] })
  t.equal(bad.status, 401, 'a token from an unknown key: 401, never anonymous')
  t.match(bad.json, { error: 'invalid_token' })
  const expired = await token('u1', ['user'], { exp: Math.floor(Date.now() / 1000) - 60 })
  t.equal((await get('/feed/x', { headers: [bearer(expired)] })).status, 401, 'an expired one: 401')
  t.equal((await get('/feed/x', { headers: [['Authorization', 'Bearer nonsense']] })).status, 401, 'garbage: 401')
  t.equal((await get('/feed/x', { method: 'DELETE' })).status, 401, 'a method with roles needs a token')
  const del = await get('/feed/x', { method: 'DELETE', headers: [bearer(await token('u2', ['admin']))] })
  t.equal(del.status, 200)
})

t.test('auth: none forwards no identity even with a token', async (t) => {
  const res = await get('/shop/x', { headers: [bearer(await token('u1', ['user']))] })
  t.equal(res.status, 200)
  t.equal(res.json.headers['x-user-id'], undefined)
  t.equal(res.json.headers.authorization, undefined, 'nor the credential (forwardCredentials: false)')
})

t.test('auth: required with roles per method', async (t) => {
  t.equal((await get('/staff/x')).status, 401, 'no token')
  t.equal((await get('/staff/x', { headers: [bearer(await token('u1', ['user']))] })).status, 403, "'*': staff")
  t.equal((await get('/staff/x', { headers: [bearer(await token('s1', ['staff']))] })).status, 200)
  const staffDelete = await get('/staff/x', { method: 'DELETE', headers: [bearer(await token('s1', ['staff']))] })
  t.equal(staffDelete.status, 403, 'DELETE: admin only')
  t.match(staffDelete.json, { error: 'insufficient_scope' })
  const adminDelete = await get('/staff/x', { method: 'DELETE', headers: [bearer(await token('a1', ['admin']))] })
  t.equal(adminDelete.status, 200)
})

t.test('per-route rate limits: by client IP and by user, 429 with Retry-After after perMinute', async (t) => {
  t.equal((await get('/by-ip/1')).status, 200)
  t.equal((await get('/by-ip/2')).status, 200)
  const ip = await get('/by-ip/3')
  t.equal(ip.status, 429)
  t.match(ip.json, { error: 'rate_limited' })
  t.ok(Number(ip.headers['retry-after']) > 0, 'Retry-After')
  t.equal((await get('/shop/x')).status, 200, 'other routes are not counted with it')

  const alice = await token('alice', ['user'])
  const bob = await token('bob', ['user'])
  t.equal((await get('/by-user/1', { headers: [bearer(alice)] })).status, 200)
  t.equal((await get('/by-user/2', { headers: [bearer(alice)] })).status, 200)
  const limited = await get('/by-user/3', { headers: [bearer(alice)] })
  t.equal(limited.status, 429)
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await get('/by-user/1', { headers: [bearer(bob)] })).status, 200, 'another user has a counter of their own')
  const keys = await gw.redis.keys(`${gw.prefix}rl:*`)
  t.ok(keys.includes(`${gw.prefix}rl:by-user:alice`), 'the bucket defaults to the route id')
})

t.test('a per-route timeout: 504 from a slow upstream', async (t) => {
  // The upstream's /slow takes 1 s: within UPSTREAM_TIMEOUT, past this route's 200 ms.
  const res = await get('/slowpoke/slow')
  t.equal(res.status, 504, 'the route\'s 200 ms applies')
  t.match(res.json, { error: 'gateway_timeout' })
  t.equal((await get('/shop/slow')).status, 200, 'other routes keep UPSTREAM_TIMEOUT')
})
