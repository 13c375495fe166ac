import t from 'tap'
import { KeyObject, createHmac, sign } from 'node:crypto'
import { exportSPKI } from 'jose'
import { bearer, request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { startGateway } from '../helpers/fixtures.js'

const signer = await createSigner()
const other = await createSigner(signer.kid) // same kid, different key
const stranger = await createSigner() // a kid the JWKS never had
const jwks = await startJwksServer(t, [signer.jwk])
const echo = await startEchoUpstream(t)
const gw = await startGateway(t, { jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url })

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const valid = await signToken(signer)
const [vh, vp] = valid.split('.') as [string, string, string]
const anotherValid = await signToken(signer, { claims: { sub: 'user-2' } })
const pem = await exportSPKI(signer.publicKey)
const hsHeader = b64({ alg: 'HS256', typ: 'at+jwt', kid: signer.kid })
const notJson = Buffer.from('not json').toString('base64url')
const notJsonSignature = sign('sha256', Buffer.from(`${vh}.${notJson}`), KeyObject.from(signer.privateKey))
const notJsonToken = `${vh}.${notJson}.${notJsonSignature.toString('base64url')}`
const hsToken = `${hsHeader}.${vp}.${createHmac('sha256', pem).update(`${hsHeader}.${vp}`).digest('base64url')}`

interface Case { d: string, reason: string, headers: () => Promise<Array<[string, string]>> }
const token = (fn: () => Promise<string> | string) => async (): Promise<Array<[string, string]>> => [bearer(await fn())]

const cases: Case[] = [
  { d: 'no token at all', reason: 'missing_token', headers: async () => [] },
  { d: 'garbage in the Bearer header', reason: 'malformed_token', headers: token(() => 'garbage') },
  { d: 'an empty Bearer header', reason: 'malformed_token', headers: async () => [['Authorization', 'Bearer ']] },
  {
    d: 'a refresh-token-looking opaque value',
    reason: 'malformed_token',
    headers: token(() => 'f3c1d2a4-1b2c.Zm9vYmFyYmF6cXV4cXV1eA'),
  },
  {
    d: 'a Basic scheme with credentials',
    reason: 'malformed_token',
    headers: async () => [['Authorization', 'Basic dXNlcjpwYXNz']],
  },
  {
    d: 'a signature from another token',
    reason: 'bad_signature',
    headers: token(() => `${vh}.${vp}.${anotherValid.split('.')[2]}`),
  },
  { d: 'signed by another key under the same kid', reason: 'bad_signature', headers: token(() => signToken(other)) },
  { d: 'a kid the JWKS does not have', reason: 'no_matching_key', headers: token(() => signToken(stranger)) },
  {
    d: 'expired beyond the clock tolerance',
    reason: 'token_expired',
    headers: token(() => signToken(signer, { claims: { iat: now() - 1000, exp: now() - 60 } })),
  },
  {
    d: 'not valid yet (nbf)',
    reason: 'token_not_yet_valid',
    headers: token(() => signToken(signer, { claims: { nbf: now() + 600 } })),
  },
  {
    d: 'issued in the future (iat)',
    reason: 'claim_invalid',
    headers: token(() => signToken(signer, {
      claims: { iat: now() + 600, exp: now() + 1500 }
    }))
  },
  {
    d: 'alg none',
    reason: 'alg_not_allowed',
    headers: token(() => `${b64({ alg: 'none', typ: 'at+jwt', kid: signer.kid })}.${vp}.`),
  },
  {
    d: 'HS256 signed with the public key bytes as the secret', reason: 'alg_not_allowed', headers: token(() => hsToken)
  },
  {
    d: 'wrong issuer', reason: 'claim_invalid', headers: token(() => signToken(signer, { claims: { iss: 'urn:evil' } }))
  },
  {
    d: 'wrong audience',
    reason: 'claim_invalid',
    headers: token(() => signToken(signer, { claims: { aud: 'urn:other-api' } })),
  },
  {
    d: 'typ JWT instead of at+jwt',
    reason: 'claim_invalid',
    headers: token(() => signToken(signer, { header: { typ: 'JWT' } })),
  },
  {
    d: 'no typ header', reason: 'claim_invalid', headers: token(() => signToken(signer, { header: { typ: undefined } }))
  },
  { d: 'no sid claim', reason: 'claim_invalid', headers: token(() => signToken(signer, { omit: ['sid'] })) },
  {
    d: 'roles not an array',
    reason: 'claim_invalid',
    headers: token(() => signToken(signer, { claims: { roles: 'admin' } })),
  },
  {
    d: 'a role with a comma (would forge a second role)',
    reason: 'claim_invalid',
    headers: token(() => signToken(signer, { claims: { roles: ['user,admin'] } })),
  },
  {
    d: 'padding in a segment (not canonical base64url)',
    reason: 'malformed_token',
    headers: token(() => `${vh}=.${vp}.${valid.split('.')[2]}`),
  },
  { d: 'four segments', reason: 'malformed_token', headers: token(() => `${valid}.x`) },
  { d: 'a correctly signed payload that is not JSON', reason: 'malformed_token', headers: token(() => notJsonToken) },
  {
    d: 'over MAX_TOKEN_BYTES',
    reason: 'token_too_large',
    headers: token(() => signToken(signer, { claims: { pad: 'x'.repeat(9000) } })),
  },
  {
    d: 'two Authorization headers', reason: 'multiple_credentials', headers: async () => [bearer(valid), bearer(valid)]
  },
  {
    d: 'Authorization header and access cookie disagree',
    reason: 'multiple_credentials',
    headers: async () => [bearer(valid), ['Cookie', `access_token=${anotherValid}`]],
  },
  {
    d: 'two different access cookies',
    reason: 'multiple_credentials',
    headers: async () => [['Cookie', `access_token=${valid}; access_token=${anotherValid}`]],
  },
  { d: 'a garbage access cookie', reason: 'malformed_token', headers: async () => [['Cookie', 'access_token=nope']] },
]

t.test('401 invalid_token on /api/orders', async (t) => {
  for (const c of cases) {
    t.test(c.d, async (t) => {
      const res = await request(gw.url, '/api/orders', { headers: await c.headers() })
      t.equal(res.status, 401)
      t.equal(res.json.error, 'invalid_token')
      t.type(res.json.message, 'string')
      t.match(res.headers['www-authenticate'], /^Bearer error="invalid_token", error_description="[^"]+"$/)
      t.notOk(res.text.includes('stack'), 'no stack trace')
      const id = res.headers['x-request-id'] as string
      const denials = gw.logs.filter((l) => l.includes(`"reqId":"${id}"`) && l.includes('"msg":"request denied"'))
      t.equal(denials.length, 1, 'denial logged once')
      t.match(JSON.parse(denials[0] ?? '{}'), { reason: c.reason, ruleId: 'orders' })
    })
  }
})

t.test('the same token in header and cookie is one credential', async (t) => {
  const res = await request(gw.url, '/api/orders', { headers: [bearer(valid), ['Cookie', `access_token=${valid}`]] })
  t.equal(res.status, 200)
})

t.test('DELETE /api/orders/:id needs the admin role', async (t) => {
  const res = await request(gw.url, '/api/orders/7', { method: 'DELETE', headers: [bearer(valid)] })
  t.equal(res.status, 403)
  t.equal(res.json.error, 'insufficient_scope')
  t.match(res.headers['www-authenticate'], /^Bearer error="insufficient_scope"/)
  const id = res.headers['x-request-id'] as string
  t.ok(
    gw.logs.some((l) => l.includes(`"reqId":"${id}"`) && l.includes('"reason":"role_missing"')),
    'logged with reason role_missing'
  )
  const admin = await signToken(signer, { claims: { roles: ['user', 'admin'] } })
  const ok = await request(gw.url, '/api/orders/7', { method: 'DELETE', headers: [bearer(admin)] })
  t.equal(ok.status, 200)
  t.equal(ok.json.method, 'DELETE')
  t.equal(ok.json.url, '/orders/7')
  const get = await request(gw.url, '/api/orders/7', { headers: [bearer(valid)] })
  t.equal(get.status, 200, 'GET needs no role')
})

t.test('public routes ignore bad tokens (the auth service judges its own)', async (t) => {
  const res = await request(gw.url, '/auth/login', {
    method: 'POST', headers: [bearer('garbage'), ['Content-Type', 'application/json']], body: '{}'
  })
  t.equal(res.status, 200)
  t.equal(res.json.headers.authorization, 'Bearer garbage')
})
