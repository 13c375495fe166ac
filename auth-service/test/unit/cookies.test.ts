/**
 * The session cookies as Set-Cookie headers, on a bare Fastify with @fastify/cookie (no Redis).
 */
import t from 'tap'
import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import { COOKIES, csrfTokenFor } from '../../src/contract.js'
import { clearSessionCookies, setSessionCookies, type CookieSettings } from '../../src/cookies.js'
import { setCookies } from '../helper.js'

const CSRF_SECRET = 'c'.repeat(43)

async function reply (settings: CookieSettings, clear = false) {
  const app = Fastify()
  await app.register(cookie)
  app.get('/', async (_request, reply) => {
    if (clear) clearSessionCookies(reply, settings)
    else setSessionCookies(reply, settings, CSRF_SECRET, { accessToken: 'at', refreshToken: 'rt', sid: 'sid-1' })
    return {}
  })
  const res = await app.inject('/')
  await app.close()
  return setCookies(res)
}

t.test('set: access (HttpOnly, /), refresh (HttpOnly, /auth), CSRF (readable, /), all Secure', async (t) => {
  const cookies = await reply({ cookieSameSite: 'strict', accessTokenTtl: 900, refreshTokenTtl: 3600 })
  t.match(cookies.get(COOKIES.accessToken), {
    value: 'at', attrs: { httponly: true, secure: true, samesite: 'Strict', path: '/', 'max-age': '900' },
  })
  t.match(cookies.get(COOKIES.refreshToken), {
    value: 'rt', attrs: { httponly: true, secure: true, samesite: 'Strict', path: '/auth', 'max-age': '3600' },
  })
  const csrf = cookies.get(COOKIES.csrfToken)!
  t.equal(csrf.value, csrfTokenFor('sid-1', CSRF_SECRET), 'the CSRF token is bound to the session')
  t.match(csrf.attrs, { secure: true, samesite: 'Strict', path: '/', 'max-age': '3600' })
  t.notOk(csrf.attrs.httponly, 'readable by scripts')
})

t.test('COOKIE_SAMESITE reaches every cookie', async (t) => {
  const cookies = await reply({ cookieSameSite: 'none', accessTokenTtl: 900, refreshTokenTtl: 3600 })
  for (const c of cookies.values()) t.equal(c.attrs.samesite, 'None', c.name)
})

t.test('clear: Max-Age=0 on the same three cookies with the same paths', async (t) => {
  const cookies = await reply({ cookieSameSite: 'lax', accessTokenTtl: 900, refreshTokenTtl: 3600 }, true)
  t.same([...cookies.keys()].sort(), [COOKIES.accessToken, COOKIES.csrfToken, COOKIES.refreshToken].sort())
  const paths = [[COOKIES.accessToken, '/'], [COOKIES.refreshToken, '/auth'], [COOKIES.csrfToken, '/']] as const
  for (const [name, path] of paths) {
    t.match(cookies.get(name), { value: '', attrs: { 'max-age': '0', path, secure: true, samesite: 'Lax' } }, name)
  }
})
