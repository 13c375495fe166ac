import t from 'tap'
import { csrfTokenFor } from '../../../auth-service/src/contract.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { corsHeadersFor } from '../../src/response/cors-headers.js'
import { authCallNeedsOrigin, checkCsrf, requestOrigin, type CsrfInput } from '../../src/pipeline/csrf.js'
import { canonicalPath } from '../../src/pipeline/http.js'

const SECRET = 's'.repeat(40)
const OPTS = { secret: SECRET, allowedOrigins: ['http://127.0.0.1:8080', 'https://app.example.com'] }

t.test('checkCsrf: one stable reason per failure', async (t) => {
  const good = csrfTokenFor('sid-1', SECRET)
  const base: CsrfInput = {
    sid: 'sid-1',
    headerValues: [good],
    cookie: `a=1; csrf_token=${good}`,
    origin: 'http://127.0.0.1:8080',
    referer: undefined,
  }
  const cases: Array<{ d: string, input: Partial<CsrfInput>, reason: string | null }> = [
    { d: 'everything right', input: {}, reason: null },
    {
      d: 'the allowed origin from the Referer when Origin is absent',
      input: { origin: undefined, referer: 'https://app.example.com/orders' },
      reason: null,
    },
    {
      d: 'a foreign Origin wins over a good Referer',
      input: { origin: 'http://evil.test', referer: 'http://127.0.0.1:8080/' },
      reason: 'origin_not_allowed',
    },
    { d: 'Origin "null"', input: { origin: 'null' }, reason: 'origin_not_allowed' },
    { d: 'an unparsable Referer', input: { origin: undefined, referer: 'not a url' }, reason: 'origin_not_allowed' },
    { d: 'no header', input: { headerValues: undefined }, reason: 'csrf_missing' },
    { d: 'no cookie', input: { cookie: 'a=1' }, reason: 'csrf_missing' },
    { d: 'two different cookies', input: { cookie: `csrf_token=${good}; csrf_token=other` }, reason: 'csrf_mismatch' },
    { d: 'the same cookie twice is fine', input: { cookie: `csrf_token=${good}; csrf_token=${good}` }, reason: null },
    { d: 'header differs from cookie', input: { headerValues: ['x'] }, reason: 'csrf_mismatch' },
    {
      d: 'a longer header (no length-based shortcut crash)',
      input: { headerValues: [good + 'x'] },
      reason: 'csrf_mismatch',
    },
    {
      d: 'another session\'s token in both',
      input: { headerValues: [csrfTokenFor('sid-2', SECRET)], cookie: `csrf_token=${csrfTokenFor('sid-2', SECRET)}` },
      reason: 'csrf_wrong_session',
    },
    {
      d: 'a token made with another secret',
      input: {
        headerValues: [csrfTokenFor('sid-1', 'x'.repeat(40))],
        cookie: `csrf_token=${csrfTokenFor('sid-1', 'x'.repeat(40))}`,
      },
      reason: 'csrf_wrong_session',
    },
  ]
  for (const c of cases) t.equal(checkCsrf({ ...base, ...c.input }, OPTS), c.reason, c.d)
})

t.test('requestOrigin', async (t) => {
  t.equal(requestOrigin('https://a.test', 'https://b.test/x'), 'https://a.test', 'Origin first')
  t.equal(requestOrigin(undefined, 'https://b.test:8443/x?y'), 'https://b.test:8443', 'else the Referer\'s origin')
  t.equal(requestOrigin(undefined, undefined), null)
})

t.test('canonicalPath and authCallNeedsOrigin', async (t) => {
  t.equal(canonicalPath('/auth//Refresh/?x=1'), '/auth/refresh')
  t.equal(canonicalPath('/auth/%72efresh'), '/auth/refresh')
  t.equal(canonicalPath('/auth/%zz'), '/auth/%zz', 'a bad escape stays as it is')
  t.equal(canonicalPath('/'), '/')
  const rt = 'refresh_token=f.s'
  t.ok(authCallNeedsOrigin('POST', '/auth/refresh', rt))
  t.ok(authCallNeedsOrigin('POST', '/auth/logout', 'access_token=x'))
  t.ok(authCallNeedsOrigin('DELETE', '/auth/sessions/abc', rt))
  t.notOk(authCallNeedsOrigin('GET', '/auth/sessions', rt), 'safe method')
  t.notOk(authCallNeedsOrigin('POST', '/auth/refresh', 'theme=dark'), 'no session cookie')
  t.notOk(authCallNeedsOrigin('POST', '/auth/login', rt), 'login')
  t.notOk(authCallNeedsOrigin('POST', '/auth/Register/', rt), 'register, any spelling')
})

t.test('corsHeadersFor: a grant only for a listed origin, never *', async (t) => {
  const list = ['https://app.example.com']
  const listed = new Map(corsHeadersFor('https://app.example.com', list, false))
  t.equal(listed.get('access-control-allow-origin'), 'https://app.example.com', 'its own origin reflected')
  t.equal(listed.get('access-control-allow-credentials'), 'true')
  t.match(listed.get('access-control-expose-headers'), /x-request-id/)
  t.equal(listed.get('access-control-allow-methods'), undefined, 'preflight headers only on a preflight')
  const preflight = new Map(corsHeadersFor('https://app.example.com', list, true))
  t.match(preflight.get('access-control-allow-methods'), /DELETE/)
  t.match(preflight.get('access-control-allow-headers'), /x-csrf-token/)
  t.equal(preflight.get('access-control-max-age'), '600')
  for (
    const origin of ['https://evil.test', undefined, '*', 'null', 'https://app.example.com/', 'https://APP.example.com']
  ) {
    t.same(corsHeadersFor(origin, list, true), [], `${origin}: no CORS header at all`)
  }
})

t.test('config: browser protection variables', async (t) => {
  const env = { CSRF_SECRET: SECRET }
  const c = loadConfig({ ...env, GATEWAY_PORT: '9090' })
  t.same(c.gatewayPublicOrigins, ['http://127.0.0.1:9090', 'http://localhost:9090'], 'own origins follow GATEWAY_PORT')
  t.same(c.corsOrigins, [], 'CORS_ORIGINS empty by default: same origin only')
  t.match(c, { csrfSecret: SECRET, rateLimitAuth: 30, rateLimitApi: 600, rateLimitNotFound: 60 })
  const set = loadConfig({
    ...env,
    CORS_ORIGINS: 'https://a.test, http://b.test:3000',
    GATEWAY_PUBLIC_ORIGINS: 'https://gw.test',
    RATE_LIMIT_AUTH: '5',
    RATE_LIMIT_API: '7',
    RATE_LIMIT_NOT_FOUND: '9',
  })
  t.same(set.corsOrigins, ['https://a.test', 'http://b.test:3000'])
  t.same(set.gatewayPublicOrigins, ['https://gw.test'])
  t.match(set, { rateLimitAuth: 5, rateLimitApi: 7, rateLimitNotFound: 9 })

  const missing = t.throws(() => loadConfig({})) as ConfigError
  t.type(missing, ConfigError)
  t.match(missing.message, /CSRF_SECRET is required/, 'fails fast without CSRF_SECRET, saying where it comes from')
  t.match(missing.message, /secrets\.json/)

  const bad = t.throws(() => loadConfig({
    CSRF_SECRET: 'short',
    CORS_ORIGINS: '*',
    GATEWAY_PUBLIC_ORIGINS: 'https://gw.test/path',
    RATE_LIMIT_AUTH: '0',
    RATE_LIMIT_API: 'lots',
    RATE_LIMIT_NOT_FOUND: '1.5',
  })) as ConfigError
  t.equal(bad.problems.length, 6, 'every bad variable at once')
  for (
    const name of [
      'CSRF_SECRET',
      'CORS_ORIGINS',
      'GATEWAY_PUBLIC_ORIGINS',
      'RATE_LIMIT_AUTH',
      'RATE_LIMIT_API',
      'RATE_LIMIT_NOT_FOUND',
    ]
  ) {
    t.ok(bad.problems.some((p) => p.startsWith(name)), `${name} reported`)
  }
})
