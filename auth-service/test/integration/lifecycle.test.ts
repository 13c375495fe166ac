import t from 'tap'
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { COOKIES, REQUIRED_CLAIMS } from '../../src/contract.js'
import { build, PASSWORD, setCookies, uniqueEmail, type Cookie } from '../helper.js'

const cookieHeader = (...cookies: Cookie[]) => cookies.map((c) => `${c.name}=${c.value}`).join('; ')

t.test('cookie mode: register → login → refresh ×3 → logout', async (t) => {
  const { app, keyring } = await build(t)
  const keySet = createLocalJWKSet(keyring.jwks)
  const email = uniqueEmail()

  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: `  ${email.toUpperCase()} `, password: PASSWORD, name: 'Ada' },
  })
  t.equal(reg.statusCode, 201)
  const regBody = reg.json()
  t.equal(regBody.user.email, email, 'email normalised (trimmed, lower-cased)')
  t.same(regBody.user.roles, ['user'])
  t.equal(regBody.user.name, 'Ada')
  t.notOk('refreshToken' in regBody, 'no refresh token in the body in cookie mode')
  t.notOk('passwordHash' in regBody.user)

  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })
  t.equal(login.statusCode, 200)
  const body = login.json()
  t.equal(body.tokenType, 'Bearer')
  t.equal(body.expiresIn, 900)
  t.equal(body.user.id, regBody.user.id)
  t.notOk('refreshToken' in body)
  let cookies = setCookies(login)
  const access = cookies.get(COOKIES.accessToken)!
  let refresh = cookies.get(COOKIES.refreshToken)!
  const csrf = cookies.get(COOKIES.csrfToken)!
  t.equal(access.value, body.accessToken, 'access cookie carries the access token')
  t.match(access.attrs, { httponly: true, secure: true, samesite: 'Strict', path: '/', 'max-age': '900' })
  t.match(refresh.attrs,
    { httponly: true, secure: true, samesite: 'Strict', path: '/auth', 'max-age': String(7 * 24 * 3600) })
  t.match(csrf.attrs, { secure: true, samesite: 'Strict', path: '/' })
  t.notOk(csrf.attrs.httponly, 'CSRF cookie is readable by scripts')
  t.match(refresh.value, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/, 'refresh token is opaque')

  const sid = (await jwtVerify(body.accessToken, keySet, {})).payload.sid
  const seen = new Set([refresh.value])
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: cookieHeader(refresh) } })
    t.equal(res.statusCode, 200, `refresh ${i + 1}`)
    const b = res.json()
    t.same(Object.keys(b).sort(), ['accessToken', 'expiresIn', 'tokenType'])
    cookies = setCookies(res)
    refresh = cookies.get(COOKIES.refreshToken)!
    t.notOk(seen.has(refresh.value), 'rotated to a new refresh token')
    seen.add(refresh.value)
    t.match(refresh.attrs, { httponly: true, secure: true, samesite: 'Strict', path: '/auth' })
    t.equal((await jwtVerify(b.accessToken, keySet, {})).payload.sid, sid, 'same session')
  }

  const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: cookieHeader(refresh) } })
  t.equal(out.statusCode, 204)
  const cleared = setCookies(out)
  for (const [name, path] of [[COOKIES.accessToken, '/'], [COOKIES.refreshToken, '/auth'], [COOKIES.csrfToken, '/']]) {
    t.match(cleared.get(name!)?.attrs, { 'max-age': '0', path }, `${name} cleared with its path`)
  }
  const after = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: cookieHeader(refresh) } })
  t.equal(after.statusCode, 401)
  t.equal(after.json().error, 'invalid_refresh_token')
})

t.test('body mode: refresh token in the body, no cookies', async (t) => {
  const { app } = await build(t)
  const email = uniqueEmail()
  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password: PASSWORD, tokenDelivery: 'body' },
  })
  t.equal(reg.statusCode, 201)
  t.equal(reg.headers['set-cookie'], undefined, 'no cookies')
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: PASSWORD, tokenDelivery: 'body' },
  })
  t.equal(login.statusCode, 200)
  t.equal(login.headers['set-cookie'], undefined)
  let token = login.json().refreshToken as string
  t.type(token, 'string')
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: token } })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['set-cookie'], undefined)
    t.not(res.json().refreshToken, token)
    token = res.json().refreshToken
  }
  const out = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refreshToken: token } })
  t.equal(out.statusCode, 204)
  const after = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: token } })
  t.equal(after.statusCode, 401)
  t.same(after.json(),
    { error: 'invalid_refresh_token', message: 'Refresh token is missing, invalid or expired', statusCode: 401 })
})

t.test('access tokens verify with jose against the served JWKS', async (t) => {
  const { app, config, keyring } = await build(t)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const jwksRes = await fetch(`${base}/.well-known/jwks.json`)
  t.equal(jwksRes.status, 200)
  t.match(jwksRes.headers.get('cache-control'), /max-age=300/)
  const jwks = await jwksRes.json() as { keys: Record<string, unknown>[] }
  t.equal(jwks.keys.length, 2, 'active and pre-published next key')
  for (const k of jwks.keys) {
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.notOk(priv in k, `no private member ${priv}`)
    t.match(k, { kty: 'RSA', alg: 'RS256', use: 'sig', kid: String })
  }

  const res = await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: uniqueEmail(),
      password: PASSWORD,
    }),
  })
  const { accessToken, user } = await res.json() as { accessToken: string, user: { id: string } }
  const header = decodeProtectedHeader(accessToken)
  t.same(header, { alg: 'RS256', kid: keyring.active.kid, typ: 'at+jwt' })
  const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)), {
    issuer: config.issuer, audience: config.audience, algorithms: ['RS256'], typ: 'at+jwt',
  })
  for (const claim of REQUIRED_CLAIMS) t.ok(claim in payload, `claim ${claim}`)
  t.equal(payload.sub, user.id)
  t.same(payload.roles, ['user'])
  t.equal(payload.exp! - payload.iat!, 900)

  const other = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: 'nobody@example.test',
      password: PASSWORD,
    }),
  })
  t.equal(other.status, 401)
})

t.test('health and readiness', async (t) => {
  const { app } = await build(t)
  t.same((await app.inject('/healthz')).json(), { status: 'ok' })
  const ready = await app.inject('/readyz')
  t.equal(ready.statusCode, 200)
  t.same(ready.json().checks, { keys: true, redis: true })
  const missing = await app.inject('/nope')
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'not_found')
})
