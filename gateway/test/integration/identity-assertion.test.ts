import t from 'tap'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { createServiceApp } from '../../../services/common/app.js'
import { createAssertionVerifier } from '../../../services/common/identity-assertion.js'
import { IDENTITY_ASSERTION } from '../../src/contract.js'
import { loadGatewayKeys, rotateGatewayKeys } from '../../src/identity-assertion/key-files.js'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { startGateway } from '../helpers/fixtures.js'
import { compileFile } from '../helpers/gateway-file.js'

// The probe: a demo-service skeleton with IDENTITY_ASSERTION=required for route "orders"; its
// JWKS URL is the gateway's, known once the gateway listens.
const gatewayKeys: { get?: JWTVerifyGetKey } = {}
const lazyKeys: JWTVerifyGetKey = async (header, token) => await gatewayKeys.get!(header, token)
const settings = {
  mode: 'required' as const,
  jwksUrl: 'http://127.0.0.1:9/unused',
  issuer: IDENTITY_ASSERTION.defaultIssuer,
  audience: 'orders',
  clockToleranceS: 0,
}
const probe = createServiceApp({
  name: 'probe', identityAssertion: settings, assertionVerifier: createAssertionVerifier(settings, lazyKeys),
})
let handled = 0
probe.get('/*', async (req) => {
  handled++
  return { identity: req.identity, assertion: req.headers['x-identity-token'] }
})
await probe.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => probe.close())
const probeUrl = `http://127.0.0.1:${(probe.server.address() as { port: number }).port}`

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const echo = await startEchoUpstream(t)
const jwksUrl = `${jwks.url}/.well-known/jwks.json`
const file = compileFile(`
providers:
  - { id: local, issuer: urn:jwt-edge:auth, audience: urn:jwt-edge:api, jwksUrl: ${jwksUrl}, revocation: true }
routes:
  - { id: orders, prefix: /api/orders, upstream: ${probeUrl}, auth: required }
  - { id: echo, prefix: /api/echo, upstream: ${echo.url}, auth: required }
  - { id: users, prefix: /api/users, upstream: ${echo.url}, auth: required, identity: assertion }
  - { id: payments, prefix: /api/payments, upstream: ${echo.url}, auth: required, identity: headers }
  - { id: open, prefix: /open, upstream: ${echo.url}, auth: none }
`, 'test.yaml', {})
const gw = await startGateway(t, { jwksUrl, deps: { file }, config: { gatewayKeysReloadIntervalMs: 100 } })
const gatewayJwksUrl = new URL(`${gw.url}${IDENTITY_ASSERTION.jwksPath}`)
gatewayKeys.get = createRemoteJWKSet(gatewayJwksUrl, { cooldownDuration: 0 })

const token = await signToken(signer, { claims: { sub: 'user-7', roles: ['user', 'admin'] } })
const { sid } = decodeJwt(token) as { sid: string }
const echoed = async (path: string, headers: Array<[string, string]> = []) =>
  (await request(gw.url, path, { headers: [bearer(token), ...headers] })).json.headers as Record<string, string>

t.test('GET /.well-known/gateway-jwks.json: the gateway\'s public keys, served by the gateway itself', async (t) => {
  const res = await request(gw.url, IDENTITY_ASSERTION.jwksPath)
  t.equal(res.status, 200)
  t.match(res.headers['cache-control'], /max-age=\d+/)
  t.equal(res.json.keys.length, 2, 'the active key and the pre-published next one')
  for (const k of res.json.keys) {
    t.same(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
    t.notOk('d' in k, 'no private part')
  }
})

t.test('x-identity-token upstream verifies against the gateway JWKS with aud = route id', async (t) => {
  const headers = await echoed('/api/echo/x')
  const keys = createRemoteJWKSet(gatewayJwksUrl)
  const { payload, protectedHeader } = await jwtVerify(headers['x-identity-token']!, keys, {
    issuer: IDENTITY_ASSERTION.defaultIssuer, audience: 'echo', algorithms: ['ES256'], typ: IDENTITY_ASSERTION.typ,
  })
  t.equal(protectedHeader.alg, 'ES256')
  t.same({ sub: payload.sub, sid: payload.sid, roles: payload.roles }, { sub: 'user-7', sid, roles: ['user', 'admin'] })
  t.ok(payload.exp! - payload.iat! <= 60, 'exp at most 60 s after iat')
  t.type(payload.jti, 'string')
  t.equal(headers['x-user-id'], 'user-7', 'identity: both also sends the headers')
  const again = await echoed('/api/echo/y')
  t.equal(again['x-identity-token'], headers['x-identity-token'], 'the same assertion from the cache')
})

t.test('per-route identity: assertion only, headers only, none without identity', async (t) => {
  const only = await echoed('/api/users/me')
  t.ok(only['x-identity-token'], 'identity: assertion sends the assertion')
  t.equal(decodeJwt(only['x-identity-token']!).aud, 'users')
  t.notOk(only['x-user-id'] ?? only['x-user-roles'] ?? only['x-session-id'], 'and no identity headers')
  const headersOnly = await echoed('/api/payments')
  t.equal(headersOnly['x-user-id'], 'user-7')
  t.notOk(headersOnly['x-identity-token'], 'identity: headers sends no assertion')
  const open = (await request(gw.url, '/open')).json.headers
  t.notOk(open['x-identity-token'], 'an anonymous request gets none')
})

t.test('a client-sent x-identity-token is stripped, in any spelling', async (t) => {
  const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.'
  const open = await request(gw.url, '/open', {
    headers: [['X-Identity-Token', forged], ['x_identity_token', forged]],
  })
  t.notOk(open.json.headers['x-identity-token'] ?? open.json.headers.x_identity_token, 'open route: removed')
  const headersOnly = await echoed('/api/payments', [['x-identity-token', forged]])
  t.notOk(headersOnly['x-identity-token'], 'identity: headers route: removed, none added')
  const both = await echoed('/api/echo/z', [['x-identity-token', forged]])
  t.not(both['x-identity-token'], forged, 'the gateway\'s own replaces it')
})

t.test('IDENTITY_ASSERTION=required: refused directly, accepted through the gateway', async (t) => {
  const before = handled
  const direct = await request(probeUrl, '/api/orders', {
    headers: [['x-user-id', 'user-7'], ['x-user-roles', 'user,admin'], ['x-session-id', sid]],
  })
  t.equal(direct.status, 401)
  t.same(direct.json, {
    error: 'invalid_identity_assertion',
    message: 'identity assertion missing: requests must come through the gateway',
    statusCode: 401,
  })
  t.equal(handled, before, 'the handler never ran')
  const via = await request(gw.url, '/api/orders', { headers: [bearer(token)] })
  t.equal(via.status, 200)
  t.same(via.json.identity, { subject: 'user-7', session: sid, roles: ['user', 'admin'] })
  t.equal(handled, before + 1)
})

// Attack table: each an assertion sent straight to the service, around the gateway.
const gatewaySigning = (await loadGatewayKeys(gw.config.gatewayKeysDir)).active
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const signWith = (key: KeyObject, header: object, claims: object) => {
  const input = `${b64(header)}.${b64(claims)}`
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}
const header = (kid = gatewaySigning.kid) => ({ alg: 'ES256', kid, typ: IDENTITY_ASSERTION.typ })
const now = () => Math.floor(Date.now() / 1000)
const claims = (over: object = {}) => ({
  iss: IDENTITY_ASSERTION.defaultIssuer,
  aud: 'orders',
  sub: 'admin-1',
  sid: 's',
  roles: ['admin'],
  iat: now(),
  exp: now() + 60,
  jti: 'j',
  ...over,
})
/** An assertion the gateway signed for route "orders" (the probe hands back what it got). */
const forOrders = async () => (await request(gw.url, '/api/orders', { headers: [bearer(token)] })).json.assertion

interface Case {
  d: string
  message: RegExp
  assertion: () => Promise<string> | string
  headers?: Array<[string, string]>
}
const cases: Case[] = [
  {
    d: 'forged: signed by another key under the gateway\'s kid',
    message: /signature invalid/,
    assertion: () => signWith(other, header(), claims()),
  },
  {
    d: 'forged: a kid the gateway never published',
    message: /no gateway key matches/,
    assertion: () => signWith(other, header('nope'), claims()),
  },
  {
    d: 'alg none',
    message: /alg not allowed|malformed/,
    assertion: () => `${b64({ alg: 'none', typ: IDENTITY_ASSERTION.typ })}.${b64(claims())}.`,
  },
  {
    d: 'expired: signed by the gateway\'s key, exp passed',
    message: /expired/,
    assertion: () => signWith(gatewaySigning.privateKey, header(), claims({ iat: now() - 30, exp: now() - 1 })),
  },
  {
    d: 'living longer than 60 s',
    message: /claim iat invalid|longer than 60/,
    assertion: () => signWith(gatewaySigning.privateKey, header(), claims({ exp: now() + 3600 })),
  },
  {
    d: 'another issuer',
    message: /claim iss invalid/,
    assertion: () => signWith(gatewaySigning.privateKey, header(), claims({ iss: 'urn:evil' })),
  },
  {
    d: 'another typ (an access token shape)',
    message: /claim typ invalid|malformed/,
    assertion: () => signWith(gatewaySigning.privateKey, { ...header(), typ: 'at+jwt' }, claims()),
  },
  {
    d: 'replayed to another route\'s service: an assertion captured for route "echo"',
    message: /claim aud invalid/,
    assertion: async () => (await echoed('/api/echo/replay'))['x-identity-token']!,
  },
  {
    d: 'a real assertion for this route with identity headers that contradict it',
    message: /contradicts the identity headers/,
    assertion: forOrders,
    headers: [['x-user-id', 'admin-1']],
  },
  { d: 'garbage', message: /malformed/, assertion: () => 'not-a-jwt' },
]

t.test('assertions refused by a service with IDENTITY_ASSERTION=required', async (t) => {
  for (const c of cases) {
    const assertion = await c.assertion()
    const before = handled
    const res = await request(probeUrl, '/api/orders', {
      headers: [['x-identity-token', assertion], ...(c.headers ?? [])],
    })
    t.equal(res.status, 401, c.d)
    t.equal(res.json.error, 'invalid_identity_assertion', c.d)
    t.match(res.json.message, c.message, c.d)
    t.notMatch(res.text, /admin-1|at .*\.ts/, `${c.d}: no claim values or stack in the body`)
    t.equal(handled, before, `${c.d}: the handler never ran`)
  }
})

t.test('a captured assertion works for its own route until exp, by design', async (t) => {
  const captured = await forOrders()
  const res = await request(probeUrl, '/api/orders', { headers: [['x-identity-token', captured]] })
  t.equal(res.status, 200, 'replay to the same route within exp is accepted (at most 60 s: documented)')
  t.equal(res.json.identity.subject, 'user-7')
})

t.test('rotation: after rotate, old assertions still verify and new ones carry the new kid', async (t) => {
  const old = await forOrders()
  const oldKid = decodeProtectedHeader(old).kid
  await rotateGatewayKeys(gw.config.gatewayKeysDir)
  await waitFor(async () => decodeProtectedHeader(await forOrders()).kid !== oldKid, 5000, 'new kid in use')
  const fresh = await forOrders()
  const published = (await request(gw.url, IDENTITY_ASSERTION.jwksPath)).json.keys.map((k: { kid: string }) => k.kid)
  t.ok(published.includes(oldKid), 'the old key is still published')
  t.ok(published.includes(decodeProtectedHeader(fresh).kid), 'and the new one')
  const res = await request(probeUrl, '/api/orders', { headers: [['x-identity-token', old]] })
  t.equal(res.status, 200, 'an assertion of the old key still verifies (overlap)')
})
