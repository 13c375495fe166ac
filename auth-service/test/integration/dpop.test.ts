/**
 * DPoP at the token endpoints (RFC 9449 section 5), on the real service and Redis: a proof binds
 * the access token (cnf.jkt, tokenType DPoP) and the family; a bound family refreshes only with
 * a proof by its key, and a refusal changes nothing.
 */
import t from 'tap'
import { decodeJwt } from 'jose'
import type { FastifyInstance } from 'fastify'
import { build, uniqueEmail, PASSWORD } from '../helper.js'
import { createDpopKey, makeProof, type DpopKey } from '../../../scripts/testing/dpop.js'

const key = await createDpopKey()
const otherKey = await createDpopKey()
// inject's requests arrive as Host localhost:80 over http.
const url = (path: string) => `http://localhost${path}`
const proof = async (k: DpopKey, path: string, claims: Record<string, unknown> = {}) =>
  await makeProof(k, { htm: 'POST', htu: url(path), claims })

const DPOP_CHALLENGE = /^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="[^"]+"$/

async function post (app: FastifyInstance, path: string, payload: Record<string, unknown>, dpop?: string | string[]) {
  return await app.inject({ method: 'POST', url: path, payload, headers: dpop === undefined ? {} : { dpop } })
}

t.test('register and login with a proof: bound token, bound family, refresh needs the key', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const email = uniqueEmail('dpop')
  const reg = await post(app, '/auth/register', { email, password: PASSWORD, tokenDelivery: 'body' },
    await proof(key, '/auth/register'))
  t.equal(reg.statusCode, 201)
  t.equal(reg.json().tokenType, 'DPoP')
  t.same(decodeJwt(reg.json().accessToken).cnf, { jkt: key.jkt }, 'the access token carries cnf.jkt')

  const login = await post(app, '/auth/login', { email, password: PASSWORD, tokenDelivery: 'body' },
    await proof(key, '/auth/login'))
  t.equal(login.statusCode, 200)
  t.equal(login.json().tokenType, 'DPoP')
  const { refreshToken } = login.json() as { refreshToken: string }
  const sid = refreshToken.split('.')[0]!
  t.equal(await inspect.hget(`${prefix}rt:{${sid}}`, 'jkt'), key.jkt, 'the family keeps the thumbprint')
  const familyBefore = await inspect.hgetall(`${prefix}rt:{${sid}}`)

  const refusals: Array<{ d: string, dpop?: string | string[] }> = [
    { d: 'no proof' },
    { d: 'a proof by another key', dpop: await proof(otherKey, '/auth/refresh') },
    { d: 'a proof for another URL', dpop: await proof(key, '/auth/login') },
    { d: 'a stale proof', dpop: await proof(key, '/auth/refresh', { iat: Math.floor(Date.now() / 1000) - 600 }) },
    { d: 'two proofs', dpop: [await proof(key, '/auth/refresh'), await proof(key, '/auth/refresh')] },
  ]
  for (const r of refusals) {
    const res = await post(app, '/auth/refresh', { refreshToken }, r.dpop)
    t.equal(res.statusCode, 401, `${r.d}: 401`)
    t.equal(res.json().error, 'invalid_dpop_proof', `${r.d}: invalid_dpop_proof`)
    t.type(res.json().message, 'string')
    t.match(res.headers['www-authenticate'], DPOP_CHALLENGE, `${r.d}: a DPoP challenge`)
    t.same(await inspect.hgetall(`${prefix}rt:{${sid}}`), familyBefore, `${r.d}: the family is untouched`)
  }

  const ok = await post(app, '/auth/refresh', { refreshToken }, await proof(key, '/auth/refresh'))
  t.equal(ok.statusCode, 200, 'the same refresh token still works with a proof by the key')
  t.equal(ok.json().tokenType, 'DPoP')
  t.same(decodeJwt(ok.json().accessToken).cnf, { jkt: key.jkt })
  t.not(ok.json().refreshToken, refreshToken, 'and it rotated')
})

t.test('a proof is used once: the same proof again is refused, and no session is made', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const email = uniqueEmail('replay')
  const reg = await post(app, '/auth/register', { email, password: PASSWORD, tokenDelivery: 'body' })
  const userId = reg.json().user.id as string
  t.equal(reg.json().tokenType, 'Bearer', 'no proof: a Bearer session as before')
  t.equal(decodeJwt(reg.json().accessToken).cnf, undefined)
  const once = await proof(key, '/auth/login')
  t.equal((await post(app, '/auth/login', { email, password: PASSWORD }, once)).statusCode, 200)
  const sessions = await inspect.scard(`${prefix}user:{${userId}}:sessions`)
  const again = await post(app, '/auth/login', { email, password: PASSWORD }, once)
  t.equal(again.statusCode, 401)
  t.same(again.json(), { error: 'invalid_dpop_proof', message: 'DPoP proof was already used', statusCode: 401 })
  t.match(again.headers['www-authenticate'], DPOP_CHALLENGE)
  t.equal(again.headers['set-cookie'], undefined, 'no cookies')
  t.equal(await inspect.scard(`${prefix}user:{${userId}}:sessions`), sessions, 'no new session')
})

t.test('an invalid proof on login is refused before the password is checked', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const email = uniqueEmail('badproof')
  const reg = await post(app, '/auth/register', { email, password: PASSWORD, tokenDelivery: 'body' })
  const userId = reg.json().user.id as string
  const cases: Array<{ d: string, dpop: string }> = [
    { d: 'alg none', dpop: `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${b64(claims())}.` },
    {
      d: 'a private key in the header',
      dpop: await makeProof(key, { htm: 'POST', htu: url('/auth/login'), header: { jwk: key.privateJwk } }),
    },
    { d: 'wrong method', dpop: await makeProof(key, { htm: 'GET', htu: url('/auth/login') }) },
    { d: 'garbage', dpop: 'not-a-jwt' },
  ]
  for (const c of cases) {
    const res = await post(app, '/auth/login', { email, password: 'wrong password!' }, c.dpop)
    t.equal(res.statusCode, 401, c.d)
    t.equal(res.json().error, 'invalid_dpop_proof', `${c.d}: the proof is judged first (not invalid_credentials)`)
  }
  t.equal(await inspect.scard(`${prefix}user:{${userId}}:sessions`), 1, 'only the register session')
  const throttle = await inspect.keys(`${prefix}*login*`)
  t.same(throttle, [], 'no failed login was counted')
})

function b64 (value: unknown): string { return Buffer.from(JSON.stringify(value)).toString('base64url') }
function claims () {
  return { htm: 'POST', htu: url('/auth/login'), iat: Math.floor(Date.now() / 1000), jti: `j-${Math.random()}` }
}

t.test('the service\'s own protected routes take a bound token only as DPoP with a proof by its key', async (t) => {
  const { app } = await build(t)
  const email = uniqueEmail('own-routes')
  const reg = await post(app, '/auth/register', { email, password: PASSWORD, tokenDelivery: 'body' },
    await proof(key, '/auth/register'))
  const token = reg.json().accessToken as string
  const sessionsProof = async (k: DpopKey, accessToken = token) =>
    await makeProof(k, { htm: 'GET', htu: url('/auth/sessions'), accessToken })
  const get = async (headers: Record<string, string>) =>
    await app.inject({ method: 'GET', url: '/auth/sessions', headers })

  const ok = await get({ authorization: `DPoP ${token}`, dpop: await sessionsProof(key) })
  t.equal(ok.statusCode, 200, 'DPoP with a proof by the key')
  t.equal(ok.json().sessions.length, 1)
  const refusals: Array<{ d: string, headers: Record<string, string>, error: string, challenge: RegExp }> = [
    { d: 'as Bearer', headers: { authorization: `Bearer ${token}` }, error: 'invalid_token', challenge: /^Bearer / },
    {
      d: 'as DPoP without a proof',
      headers: { authorization: `DPoP ${token}` },
      error: 'invalid_dpop_proof',
      challenge: DPOP_CHALLENGE,
    },
    {
      d: 'with a proof by another key',
      headers: { authorization: `DPoP ${token}`, dpop: await sessionsProof(otherKey) },
      error: 'invalid_dpop_proof',
      challenge: DPOP_CHALLENGE,
    },
    {
      d: 'with a proof for another token (ath)',
      headers: { authorization: `DPoP ${token}`, dpop: await sessionsProof(key, 'x.y.z') },
      error: 'invalid_dpop_proof',
      challenge: DPOP_CHALLENGE,
    },
  ]
  for (const r of refusals) {
    const res = await get(r.headers)
    t.equal(res.statusCode, 401, `${r.d}: 401`)
    t.equal(res.json().error, r.error, `${r.d}: ${r.error}`)
    t.match(res.headers['www-authenticate'], r.challenge, `${r.d}: its challenge`)
  }
})
