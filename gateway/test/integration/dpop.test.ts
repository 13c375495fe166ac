/**
 * DPoP at the gateway (RFC 9449 section 7), in the style of auth-failures.test.ts: one table of
 * attacks on a bound token, each refused with its status, error, WWW-Authenticate and logged
 * reason, without reaching the upstream; the happy paths; the verified-token cache never
 * letting a bound token through without a fresh proof; the replay cache shared by two gateways.
 * Then the real stack: DPoP login through the gateway, a bound call, refresh with and without
 * the key.
 */
import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { decodeJwt } from 'jose'
import { bearer, request, startEchoUpstream, type Res } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { PASSWORD } from '../../../scripts/testing/stack.js'
import {
  createDpopKey, dpopAuthorization, dpopHeader, makeProof, type DpopKey, type ProofOptions,
} from '../../../scripts/testing/dpop.js'
import { startGateway } from '../helpers/fixtures.js'
import { startInProcessStack } from '../helpers/in-process-stack.js'

const signer = await createSigner()
const jwks = await startJwksServer(t, [signer.jwk])
const echo = await startEchoUpstream(t)
const PUBLIC = 'https://api.example.test'
const gw = await startGateway(t, {
  jwksUrl: `${jwks.url}/.well-known/jwks.json`, upstream: echo.url, config: { gatewayPublicOrigins: [PUBLIC] },
})
const key = await createDpopKey()
const otherKey = await createDpopKey()
const bound = await signToken(signer, { claims: { cnf: { jkt: key.jkt } } })
const unbound = await signToken(signer)
const ORDERS = `${gw.url}/api/orders`

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const proof = async (over: Partial<ProofOptions> = {}, k: DpopKey = key) =>
  await makeProof(k, { htm: 'GET', htu: ORDERS, accessToken: bound, ...over })

/** A proof MAC'd with HS256 (jose will not sign that with an EC key). */
function hsProof (): string {
  const header = b64({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk })
  const signingInput = `${header}.${b64({ htm: 'GET', htu: ORDERS, iat: now(), jti: 'h1' })}`
  return `${signingInput}.${createHmac('sha256', 'secret').update(signingInput).digest('base64url')}`
}

type Headers = Array<[string, string]>
interface Case {
  d: string
  error: 'invalid_dpop_proof' | 'invalid_token'
  reason: string
  headers: () => Promise<Headers>
}
const withProof = (fn: () => Promise<string> | string) =>
  async (): Promise<Headers> => [dpopAuthorization(bound), dpopHeader(await fn())]

const cases: Case[] = [
  {
    d: 'no DPoP proof with a bound token',
    error: 'invalid_dpop_proof',
    reason: 'proof_missing',
    headers: async () => [dpopAuthorization(bound)],
  },
  {
    d: 'a proof signed by another key',
    error: 'invalid_dpop_proof',
    reason: 'proof_key_mismatch',
    headers: withProof(() => proof({}, otherKey)),
  },
  {
    d: 'a proof for another key claiming this key\'s jwk (signature does not verify)',
    error: 'invalid_dpop_proof',
    reason: 'proof_signature',
    headers: withProof(() => proof({}, { ...otherKey, publicJwk: key.publicJwk })),
  },
  {
    d: 'wrong method (htm POST on a GET)',
    error: 'invalid_dpop_proof',
    reason: 'proof_htm',
    headers: withProof(() => proof({ htm: 'POST' })),
  },
  {
    d: 'htm in lower case',
    error: 'invalid_dpop_proof',
    reason: 'proof_htm',
    headers: withProof(() => proof({ htm: 'get' })),
  },
  {
    d: 'wrong URL (another path)',
    error: 'invalid_dpop_proof',
    reason: 'proof_htu',
    headers: withProof(() => proof({ htu: `${gw.url}/api/users/me` })),
  },
  {
    d: 'wrong URL (another host)',
    error: 'invalid_dpop_proof',
    reason: 'proof_htu',
    headers: withProof(() => proof({ htu: 'https://evil.example/api/orders' })),
  },
  {
    d: 'wrong URL (https for http)',
    error: 'invalid_dpop_proof',
    reason: 'proof_htu',
    headers: withProof(() => proof({ htu: ORDERS.replace('http:', 'https:') })),
  },
  {
    d: 'htu not a URL',
    error: 'invalid_dpop_proof',
    reason: 'proof_htu',
    headers: withProof(() => proof({ htu: '/api/orders' })),
  },
  {
    d: 'missing ath',
    error: 'invalid_dpop_proof',
    reason: 'proof_ath',
    headers: withProof(() => proof({ accessToken: undefined })),
  },
  {
    d: 'ath of another token',
    error: 'invalid_dpop_proof',
    reason: 'proof_ath',
    headers: withProof(() => proof({ accessToken: unbound })),
  },
  {
    d: 'stale iat (120 s old)',
    error: 'invalid_dpop_proof',
    reason: 'proof_iat',
    headers: withProof(() => proof({ claims: { iat: now() - 120 } })),
  },
  {
    d: 'iat in the future (120 s)',
    error: 'invalid_dpop_proof',
    reason: 'proof_iat',
    headers: withProof(() => proof({ claims: { iat: now() + 120 } })),
  },
  {
    d: 'no iat',
    error: 'invalid_dpop_proof',
    reason: 'proof_iat',
    headers: withProof(() => proof({ claims: { iat: undefined } })),
  },
  {
    d: 'no jti',
    error: 'invalid_dpop_proof',
    reason: 'proof_jti',
    headers: withProof(() => proof({ claims: { jti: undefined } })),
  },
  {
    d: 'a jti over 256 characters',
    error: 'invalid_dpop_proof',
    reason: 'proof_jti',
    headers: withProof(() => proof({ claims: { jti: 'j'.repeat(257) } })),
  },
  {
    d: 'alg none',
    error: 'invalid_dpop_proof',
    reason: 'proof_alg',
    headers: withProof(() =>
      `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${b64({ htm: 'GET', htu: ORDERS, iat: now() })}.`),
  },
  {
    d: 'HS256 (a MAC, not a key proof)',
    error: 'invalid_dpop_proof',
    reason: 'proof_alg',
    headers: withProof(() => hsProof()),
  },
  {
    d: 'an embedded private key',
    error: 'invalid_dpop_proof',
    reason: 'proof_private_key',
    headers: withProof(() => proof({ header: { jwk: key.privateJwk } })),
  },
  {
    d: 'no jwk in the header',
    error: 'invalid_dpop_proof',
    reason: 'proof_malformed',
    headers: withProof(() => proof({ header: { jwk: undefined } })),
  },
  {
    d: 'typ JWT instead of dpop+jwt',
    error: 'invalid_dpop_proof',
    reason: 'proof_malformed',
    headers: withProof(() => proof({ header: { typ: 'JWT' } })),
  },
  {
    d: 'a payload changed after signing',
    error: 'invalid_dpop_proof',
    reason: 'proof_signature',
    headers: withProof(async () => {
      const [h, , s] = (await proof()).split('.')
      return `${h}.${b64({ htm: 'GET', htu: ORDERS, iat: now(), jti: 'forged', ath: 'x' })}.${s}`
    }),
  },
  {
    d: 'garbage as the proof',
    error: 'invalid_dpop_proof',
    reason: 'proof_malformed',
    headers: withProof(() => 'garbage'),
  },
  {
    d: 'two DPoP headers',
    error: 'invalid_dpop_proof',
    reason: 'proof_malformed',
    headers: async () => [dpopAuthorization(bound), dpopHeader(await proof()), dpopHeader(await proof())],
  },
  {
    d: 'a bound token sent as Bearer (with a valid proof)',
    error: 'invalid_token',
    reason: 'dpop_bound_as_bearer',
    headers: async () => [bearer(bound), dpopHeader(await proof())],
  },
  {
    d: 'a bound token sent as Bearer without a proof',
    error: 'invalid_token',
    reason: 'dpop_bound_as_bearer',
    headers: async () => [bearer(bound)],
  },
  {
    d: 'a bound token in the access cookie',
    error: 'invalid_token',
    reason: 'dpop_bound_as_bearer',
    headers: async () => [['Cookie', `access_token=${bound}`], dpopHeader(await proof())],
  },
  {
    d: 'an unbound token sent as DPoP',
    error: 'invalid_token',
    reason: 'dpop_unbound_token',
    headers: async () => [dpopAuthorization(unbound), dpopHeader(await proof({ accessToken: unbound }))],
  },
  {
    d: 'a token whose cnf.jkt is not a thumbprint',
    error: 'invalid_token',
    reason: 'dpop_cnf_invalid',
    headers: async () => {
      const odd = await signToken(signer, { claims: { cnf: { jkt: 'short' } } })
      return [dpopAuthorization(odd), dpopHeader(await proof({ accessToken: odd }))]
    },
  },
]

function deniedOnce (t: Test, res: Res, reason: string, logs = gw.logs) {
  const id = res.headers['x-request-id'] as string
  const denials = logs.filter((l) => l.includes(`"reqId":"${id}"`) && l.includes('"msg":"request denied"'))
  t.equal(denials.length, 1, 'denial logged once')
  t.match(JSON.parse(denials[0] ?? '{}'), { reason, ruleId: 'orders' })
}

const challenge = (error: string) =>
  new RegExp(`^DPoP error="${error}", error_description="[^"]+", algs="ES256 RS256 PS256 EdDSA"$`)

t.test('401 with a DPoP challenge on /api/orders', async (t) => {
  for (const c of cases) {
    t.test(c.d, async (t) => {
      const res = await request(gw.url, '/api/orders', { headers: await c.headers() })
      t.equal(res.status, 401)
      t.equal(res.json.error, c.error)
      t.type(res.json.message, 'string')
      t.match(res.headers['www-authenticate'], challenge(c.error))
      t.equal(res.json.upstream, undefined, 'the upstream was not reached')
      deniedOnce(t, res, c.reason)
    })
  }
})

t.test('happy paths: a fresh proof each time; the upstream sees neither the token nor the proof', async (t) => {
  const ok = await request(gw.url, '/api/orders?page=2', {
    headers: [dpopAuthorization(bound), dpopHeader(await proof())],
  })
  t.equal(ok.status, 200, 'htu without the query matches a request with one')
  t.equal(ok.json.upstream, 'echo')
  t.equal(ok.json.headers['x-user-id'], 'user-1')
  t.equal(ok.json.headers.authorization, undefined, 'no Authorization upstream')
  t.equal(ok.json.headers.dpop, undefined, 'no DPoP upstream')

  const odd = `HTTP://127.0.0.1:${new URL(ORDERS).port}/api/%6Frders#frag`
  const normalised = await request(gw.url, '/api/orders', {
    headers: [dpopAuthorization(bound), dpopHeader(await proof({ htu: odd }))],
  })
  t.equal(normalised.status, 200, `htu ${odd} normalises to the request URL (RFC 3986 case, %-encoding, fragment)`)

  const viaPublic = await request(gw.url, '/api/orders', {
    headers: [dpopAuthorization(bound), dpopHeader(await proof({ htu: `${PUBLIC}:443/api/orders` }))],
  })
  t.equal(viaPublic.status, 200, 'an htu on a GATEWAY_PUBLIC_ORIGINS origin (default port spelled out) is accepted')

  const es = await createDpopKey('EdDSA')
  const edToken = await signToken(signer, { claims: { cnf: { jkt: es.jkt } } })
  const ed = await request(gw.url, '/api/orders', {
    headers: [dpopAuthorization(edToken), dpopHeader(await proof({ accessToken: edToken }, es))],
  })
  t.equal(ed.status, 200, 'an EdDSA key works too')

  const plain = await request(gw.url, '/api/orders', { headers: [bearer(unbound)] })
  t.equal(plain.status, 200, 'Bearer tokens keep working')
})

t.test('the token cache never lets a bound token through without a fresh proof', async (t) => {
  const token = await signToken(signer, { claims: { cnf: { jkt: key.jkt } } })
  const first = await makeProof(key, { htm: 'GET', htu: ORDERS, accessToken: token })
  const go = async (headers: Headers) => await request(gw.url, '/api/orders', { headers })
  t.equal((await go([dpopAuthorization(token), dpopHeader(first)])).status, 200, 'first use: verified and cached')
  const { hits } = await cacheStats()
  const noProof = await go([dpopAuthorization(token)])
  t.equal(noProof.status, 401, 'same token, no proof')
  t.equal(noProof.json.error, 'invalid_dpop_proof')
  const replayed = await go([dpopAuthorization(token), dpopHeader(first)])
  t.equal(replayed.status, 401, 'same token, the proof again')
  t.equal(replayed.json.message, 'DPoP proof was already used')
  deniedOnce(t, replayed, 'proof_replayed')
  const asBearer = await go([bearer(token)])
  t.equal(asBearer.status, 401, 'same token as Bearer')
  t.equal(asBearer.json.error, 'invalid_token')
  const fresh = await go([
    dpopAuthorization(token), dpopHeader(await makeProof(key, { htm: 'GET', htu: ORDERS, accessToken: token })),
  ])
  t.equal(fresh.status, 200, 'a fresh proof works')
  t.ok((await cacheStats()).hits >= hits + 4, 'these were cache hits: the proof is checked on hits')
})

async function cacheStats (): Promise<{ hits: number }> {
  const text = (await request(gw.url, '/metrics')).text
  const m = /^gateway_token_cache_hits_total (\d+)/m.exec(text)
  return { hits: Number(m?.[1] ?? NaN) }
}

t.test('the replay cache is shared: a proof used at gateway A is refused at gateway B', async (t) => {
  const gwB = await startGateway(t, {
    jwksUrl: `${jwks.url}/.well-known/jwks.json`,
    upstream: echo.url,
    redis: { url: gw.config.redisUrl, prefix: gw.prefix },
    config: { gatewayPublicOrigins: [PUBLIC] },
  })
  const shared = await proof({ htu: `${PUBLIC}/api/orders` })
  const headers: Headers = [dpopAuthorization(bound), dpopHeader(shared)]
  t.equal((await request(gw.url, '/api/orders', { headers })).status, 200, 'A accepts it')
  const atB = await request(gwB.url, '/api/orders', { headers })
  t.equal(atB.status, 401, 'B refuses it')
  t.equal(atB.json.error, 'invalid_dpop_proof')
  t.match(atB.headers['www-authenticate'], challenge('invalid_dpop_proof'))
  const keys = await gw.redis.keys(`${gw.prefix}dpop:jti:${key.jkt}:*`)
  t.ok(keys.length > 0, 'claimed jtis are kept under the key\'s thumbprint')
  const pttl = await gw.redis.pttl(keys[0]!)
  t.ok(pttl > 0 && pttl <= 121_000, `bounded by the proof window (PTTL ${pttl} ms ≤ 2 × 60 s + 1 s)`)
})

t.test('Redis down: a bound token is refused with 503 (the replay cache fails closed)', async (t) => {
  const down = await startGateway(t, {
    jwksUrl: `${jwks.url}/.well-known/jwks.json`,
    upstream: echo.url,
    redis: { url: 'redis://127.0.0.1:1', prefix: 'test:dpop-down:' },
    waitReady: false,
  })
  const res = await request(down.url, '/api/orders', {
    headers: [
      dpopAuthorization(bound),
      dpopHeader(await makeProof(key, { htm: 'GET', htu: `${down.url}/api/orders`, accessToken: bound })),
    ],
  })
  t.equal(res.status, 503)
  t.equal(res.json.error, 'service_unavailable')
  t.equal(res.headers['retry-after'], '5')
  t.equal(res.json.upstream, undefined)
  const id = res.headers['x-request-id'] as string
  const denial = down.logs.find((l) => l.includes(`"reqId":"${id}"`) && l.includes('"msg":"request denied"'))
  t.match(JSON.parse(denial ?? '{}'), { reason: 'replay_cache_unavailable' },
    'refused by the replay cache, not the keys')
})

t.test('the real stack: DPoP login through the gateway, a bound call, refresh with and without the key', async (t) => {
  const stack = await startInProcessStack(t)
  const at = (path: string) => `${stack.gatewayUrl}${path}`
  const post = async (path: string, body: unknown, headers: Headers = []) => await request(stack.gatewayUrl, path, {
    method: 'POST', body: JSON.stringify(body), headers: [['Content-Type', 'application/json'], ...headers],
  })
  const email = `dpop-${Date.now()}@example.test`
  const reg = await post('/auth/register', { email, password: PASSWORD, tokenDelivery: 'body' },
    [dpopHeader(await makeProof(key, { htm: 'POST', htu: at('/auth/register') }))])
  t.equal(reg.status, 201,
    'register with a proof whose htu is the gateway URL (x-forwarded-host reaches the auth service)')
  t.equal(reg.json.tokenType, 'DPoP')
  const token = reg.json.accessToken as string
  t.same(decodeJwt(token).cnf, { jkt: key.jkt })

  const me = await request(stack.gatewayUrl, '/api/users/me', {
    headers: [
      dpopAuthorization(token),
      dpopHeader(await makeProof(key, { htm: 'GET', htu: at('/api/users/me'), accessToken: token })),
    ],
  })
  t.equal(me.status, 200, 'a bound call with a proof')
  const stolen = await request(stack.gatewayUrl, '/api/users/me', { headers: [bearer(token)] })
  t.equal(stolen.status, 401, 'the token alone, as Bearer, is refused')
  t.match(stolen.headers['www-authenticate'], challenge('invalid_token'))
  const stolenDpop = await request(stack.gatewayUrl, '/api/users/me', {
    headers: [
      dpopAuthorization(token),
      dpopHeader(await makeProof(otherKey, { htm: 'GET', htu: at('/api/users/me'), accessToken: token })),
    ],
  })
  t.equal(stolenDpop.status, 401, 'the token with a proof by the thief\'s own key is refused')
  t.equal(stolenDpop.json.error, 'invalid_dpop_proof')

  const refreshToken = reg.json.refreshToken as string
  const bare = await post('/auth/refresh', { refreshToken })
  t.equal(bare.status, 401, 'a proof-less refresh of a bound family')
  t.equal(bare.json.error, 'invalid_dpop_proof')
  t.match(bare.headers['www-authenticate'], challenge('invalid_dpop_proof'))
  const refreshProof = await makeProof(key, { htm: 'POST', htu: at('/auth/refresh') })
  const ok = await post('/auth/refresh', { refreshToken }, [dpopHeader(refreshProof)])
  t.equal(ok.status, 200, 'the family was left intact: the same refresh token works with the key')
  t.equal(ok.json.tokenType, 'DPoP')
  t.same(decodeJwt(ok.json.accessToken).cnf, { jkt: key.jkt })

  const plain = await post('/auth/login', { email, password: PASSWORD, tokenDelivery: 'body' })
  t.equal(plain.json.tokenType, 'Bearer', 'a login without a proof is a Bearer session')
  const plainCall = await request(stack.gatewayUrl, '/api/users/me', { headers: [bearer(plain.json.accessToken)] })
  t.equal(plainCall.status, 200)
})
