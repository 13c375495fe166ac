/**
 * Token providers of the gateway file: the local auth service next to other issuers (a test IdP
 * on loopback serving OIDC discovery and a JWKS, as Keycloak does). Picked by `iss`; roles from
 * a nested claim or a space-separated string; a route's `providers` allow-list; key rotation at
 * the IdP; readiness per provider. Real HTTP, Redis and signatures.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadGatewayFile, type GatewayFile } from '../../src/gateway-file/index.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { startGateway } from '../helpers/fixtures.js'
import { startTestIdp, type TestIdp } from '../helpers/test-idp.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const echo = await startEchoUpstream(t, 'echo')
const partner = await startTestIdp(t, 'orders-api')
const scoped = await startTestIdp(t, 'reports')

const FILE = `
providers:
  - { id: local, issuer: urn:jwt-edge:auth, audience: urn:jwt-edge:api, jwksUrl: '\${JWKS_URL}', revocation: true }
  - id: partner
    issuer: \${PARTNER}
    audience: [orders-api, other-api]
    discovery: true
    algorithms: [ES256, RS256]
    rolesClaim: realm_access.roles
  - id: scoped
    issuer: \${SCOPED}
    audience: reports
    jwksUrl: \${SCOPED}/protocol/openid-connect/certs
    rolesClaim: scope
routes:
  - { id: orders, prefix: /orders, upstream: '\${ECHO}', auth: required, roles: { DELETE: [admin] } }
  - { id: local-only, prefix: /local-only, upstream: '\${ECHO}', auth: required, providers: [local] }
  - { id: partner-only, prefix: /partner-only, upstream: '\${ECHO}', auth: optional, providers: [partner] }
  - { id: reports, prefix: /reports, upstream: '\${ECHO}', providers: [scoped], roles: { '*': ['reports:read'] } }
`

async function fileFor (dir: string, idp: TestIdp = partner): Promise<GatewayFile> {
  const path = join(dir, 'gateway.yaml')
  writeFileSync(path, FILE)
  const loaded = await loadGatewayFile(path, {
    JWKS_URL: `${jwks.url}/.well-known/jwks.json`, PARTNER: idp.issuer, SCOPED: scoped.issuer, ECHO: echo.url,
  })
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'))
  return loaded.file
}

// No cooldown: an unknown kid refetches at once (the rotation test counts the fetches).
const gw = await startGateway(t, {
  jwksUrl: 'http://127.0.0.1:9/unused',
  config: { jwksCooldownMs: 0 },
  deps: { file: await fileFor(t.testdir({})) },
})
const get = (path: string, token: string, method = 'GET') => request(gw.url, path, { method, headers: [bearer(token)] })
const local = (roles: string[] = ['user']) => signToken(signer, { claims: { sub: 'local-1', roles } })

t.test('a token of another issuer, found by discovery: accepted, roles from realm_access.roles', async (t) => {
  const token = await partner.sign('p-1', { realm_access: { roles: ['buyer', 'auditor'] } })
  const res = await get('/orders/7', token)
  t.equal(res.status, 200)
  t.equal(res.json.headers['x-user-id'], 'p-1')
  t.equal(res.json.headers['x-user-roles'], 'buyer,auditor')
  t.equal(res.json.headers['x-session-id'], '', 'no sid claim: no session')
  t.equal(res.json.headers.authorization, undefined, 'the token is not forwarded')
  const rs = await get('/orders/7', await partner.sign('p-2', { aud: 'other-api' }, { alg: 'RS256' }))
  t.equal(rs.status, 200, 'RS256 from the same JWKS, the second audience')
  t.equal(rs.json.headers['x-user-roles'], '', 'no roles claim: no roles')
  t.equal((await get('/orders/7', await local())).json.headers['x-user-id'], 'local-1', 'the local one still works')
})

t.test('roles per method from the nested claim', async (t) => {
  const buyer = await get('/orders/7', await partner.sign('p-1', { realm_access: { roles: ['buyer'] } }), 'DELETE')
  t.equal(buyer.status, 403)
  t.match(buyer.json, { error: 'insufficient_scope' })
  const admin = await get('/orders/7', await partner.sign('p-3', { realm_access: { roles: ['admin'] } }), 'DELETE')
  t.equal(admin.status, 200)
})

t.test('roles as a space-separated string (scope)', async (t) => {
  const es = await get('/reports/q1', await scoped.sign('s-1', { scope: 'openid reports:read' }, { alg: 'ES256' }))
  t.equal(es.status, 401, 'scoped takes RS256 only (its default): an ES256 token is refused')
  t.match(es.json, { error: 'invalid_token' })
  const token = await scoped.sign('s-1', { scope: 'openid reports:read' }, { alg: 'RS256' })
  const ok = await get('/reports/q1', token)
  t.equal(ok.status, 200)
  t.equal(ok.json.headers['x-user-roles'], 'openid,reports:read')
  const none = await get('/reports/q1', await scoped.sign('s-2', { scope: 'openid' }, { alg: 'RS256' }))
  t.equal(none.status, 403, 'without the scope')
})

t.test("a route's providers: another provider's token is 401 there", async (t) => {
  const partnerToken = await partner.sign('p-1')
  const refused = await get('/local-only/x', partnerToken)
  t.equal(refused.status, 401)
  t.match(refused.json, { error: 'invalid_token' })
  t.match(refused.headers['www-authenticate'], /^Bearer error="invalid_token"/)
  t.ok(gw.logs.some((l) => l.includes('"reason":"provider_not_allowed"')), 'logged with its reason')
  t.equal((await get('/local-only/x', await local())).status, 200)
  t.equal((await get('/partner-only/x', await local())).status, 401, 'and the other way round (optional too)')
  t.equal((await get('/partner-only/x', partnerToken)).status, 200)
  const scopedToken = await scoped.sign('s-1', { scope: 'reports:read' }, { alg: 'RS256' })
  t.equal((await get('/orders/1', scopedToken)).status, 200, 'no providers list: every provider')
})

t.test('refused: wrong audience, expired, unknown issuer, a key the IdP never published', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const other = await startTestIdp(t)
  for (const [what, token] of [
    ['another audience', await partner.sign('p-1', { aud: 'payments-api' })],
    ['expired', await partner.sign('p-1', { iat: now - 600, exp: now - 300 })],
    ['no sub', await partner.sign('', {})],
    ['an unknown issuer', await other.sign('p-1')],
    ['the issuer of partner, signed by another IdP', await other.sign('p-1', { iss: partner.issuer })],
  ] as const) {
    const res = await get('/orders/1', token)
    t.equal(res.status, 401, what)
    t.match(res.json, { error: 'invalid_token' }, what)
  }
})

t.test('key rotation at the IdP: an unknown kid refetches the JWKS once', async (t) => {
  const before = partner.jwksFetches()
  await partner.rotate()
  const res = await get('/orders/1', await partner.sign('p-9'))
  t.equal(res.status, 200, 'a token by the new key')
  t.equal(partner.jwksFetches(), before + 1, 'one refetch')
})

t.test('readiness per provider: an IdP down at start is 503 naming it, then ready when it comes up', async (t) => {
  const late = await startTestIdp(t)
  await late.stop()
  const down = await startGateway(t, {
    jwksUrl: 'http://127.0.0.1:9/unused',
    waitReady: false,
    deps: { file: await fileFor(t.testdir({}), late) },
  })
  const notReady = await request(down.url, '/readyz')
  t.equal(notReady.status, 503)
  t.match(notReady.json, { checks: { providers: { local: true, partner: false } }, error: 'service_unavailable' })
  t.match(notReady.json.message, /partner/)
  const ages = async () => {
    const text = (await request(down.url, '/metrics')).text
    return Object.fromEntries([...text.matchAll(/^gateway_provider_jwks_age_seconds\{provider="([^"]+)"\} (\S+)$/gm)]
      .map((m) => [m[1], Number(m[2])]))
  }
  const downAges = await ages()
  t.same(Object.keys(downAges).sort(), ['local', 'partner', 'scoped'], 'a JWKS age for every provider')
  t.equal(downAges.partner, -1, 'the IdP down at start: never fetched')
  t.ok(downAges.local! >= 0 && downAges.local! < 10, `local fetched ${downAges.local} s ago`)
  await late.start()
  await waitFor(async () => (await request(down.url, '/readyz')).status === 200, 10_000, 'ready once the IdP is up')
  const upAges = await ages()
  t.ok(upAges.partner! >= 0 && upAges.partner! < 10, `partner fetched ${upAges.partner} s ago once up`)
  const res = await request(down.url, '/orders/1', { headers: [bearer(await late.sign('l-1'))] })
  t.equal(res.status, 200)
})
