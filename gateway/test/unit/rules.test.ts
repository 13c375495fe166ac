import t from 'tap'
import { defaultConfig } from '../../src/config.js'
import { compileRules, DEFAULT_BODY_LIMIT } from '../../src/rules.js'
import { shippedGatewayFile } from '../helpers/gateway-file.js'

const config = defaultConfig()
const rules = compileRules(shippedGatewayFile(config).routes, config)

t.test('the shipped file compiles to the contract routes', async (t) => {
  t.same(rules.map((r) => [r.id, r.prefix, r.auth]), [
    ['auth', '/auth', 'none'],
    ['jwks', '/.well-known/jwks.json', 'none'],
    ['admin', '/auth/admin', 'required'],
    ['orders', '/api/orders', 'required'],
    ['users', '/api/users', 'required'],
    ['payments', '/api/payments', 'required'],
    ['web', '/', 'none'],
  ])
  t.same(rules.find((r) => r.id === 'orders')?.roles, { DELETE: ['admin'] })
  t.same(rules.find((r) => r.id === 'admin')?.roles, { '*': ['admin'] }, 'the admin API: role admin, any method')
  t.equal(rules.find((r) => r.id === 'auth')?.forwardCredentials, true)
  t.ok(Object.isFrozen(rules) && Object.isFrozen(rules[0]))
})

t.test('each rule\'s policy, as the built-in table had it', async (t) => {
  const limit = (id: string) => rules.find((r) => r.id === id)?.rateLimit
  t.same(rules.map((r) => [r.id, r.csrf, r.forwardCredentials, r.bodyLimit, r.exact]), [
    ['auth', 'origin', true, 16384, false],
    ['jwks', 'none', false, DEFAULT_BODY_LIMIT, true],
    ['admin', 'double-submit', true, 16384, false],
    ['orders', 'double-submit', false, 16384, false],
    ['users', 'double-submit', false, 16384, false],
    ['payments', 'double-submit', false, 16384, false],
    ['web', 'none', false, DEFAULT_BODY_LIMIT, false],
  ])
  t.same(limit('auth'), {
    key: 'ip',
    perMinute: config.rateLimitAuth,
    methods: ['POST'],
    paths: ['/auth/login', '/auth/register', '/auth/refresh'],
    bucket: 'auth',
  }, "'auth-endpoints': POST per client IP, each path on its own")
  for (const id of ['orders', 'users', 'payments']) {
    const perUser = { key: 'user', perMinute: config.rateLimitApi, methods: [], paths: [], bucket: 'api' }
    t.same(limit(id), perUser, `${id}: 'per-user', one bucket`)
  }
  t.same(limit('admin'), { key: 'user', perMinute: config.rateLimitApi, methods: [], paths: [], bucket: 'admin' },
    'admin: per user, a counter of its own')
  t.equal(limit('jwks'), null)
  t.equal(limit('web'), null)
})

t.test('methods (OPTIONS is the gateway\'s) and timeouts are filled in', async (t) => {
  const [auth, jwks] = shippedGatewayFile(config).routes
  const [only, all] = compileRules([{ ...auth!, methods: ['GET', 'OPTIONS'] as const, timeoutMs: 50 }, jwks!], config)
  t.same(only?.methods, ['GET'])
  t.equal(only?.timeoutMs, 50)
  t.same(all?.methods, ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT'])
  t.equal(all?.timeoutMs, config.upstreamTimeoutMs, 'no timeout: UPSTREAM_TIMEOUT')
})
