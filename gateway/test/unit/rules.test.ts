import t from 'tap'
import { defaultConfig } from '../../src/config.js'
import { defaultRoutes, validateRoutes, type RouteRule } from '../../src/routes.js'

const config = defaultConfig()

t.test('the default table is valid and has the contract routes', async (t) => {
  const rules = validateRoutes(defaultRoutes(config))
  t.same(rules.map((r) => [r.id, r.prefix, r.auth]), [
    ['auth', '/auth', 'none'],
    ['jwks', '/.well-known/jwks.json', 'none'],
    ['orders', '/api/orders', 'required'],
    ['users', '/api/users', 'required'],
    ['payments', '/api/payments', 'required'],
    ['web', '/', 'none'],
  ])
  t.same(rules.find((r) => r.id === 'orders')?.roles, { DELETE: ['admin'] })
  t.equal(rules.find((r) => r.id === 'auth')?.forwardCredentials, true)
  t.ok(Object.isFrozen(rules[0]))
})

t.test('a bad table fails at build time with every problem listed', async (t) => {
  const good = defaultRoutes(config)[2] as RouteRule
  const bad = [
    { ...good },
    { ...good, id: 'orders' }, // duplicate id
    { ...good, id: 'x1', prefix: 'api/x' }, // no leading slash
    { ...good, id: 'x2', prefix: '/api/x/' }, // trailing slash
    { ...good, id: 'x3', prefix: '/x3', upstream: 'nope' },
    { ...good, id: 'x4', prefix: '/x4', auth: 'maybe' as 'none' },
    { ...good, id: 'x5', prefix: '/x5', roles: { FETCH: ['a'] } },
    { ...good, id: 'x6', prefix: '/x6', roles: { GET: ['a,b'] } },
    { ...good, id: 'x7', prefix: '/x7', auth: 'none' as const, roles: { GET: ['admin'] } },
    { ...good, id: 'x8', prefix: '/api' },
  ]
  const err = t.throws(() => validateRoutes(bad)) as Error & { code: string }
  t.equal(err.code, 'GW_ERR_ROUTE_TABLE')
  for (const needle of ['duplicate id', 'prefix must be a path', 'upstream must be a URL', "auth must be 'required' or 'none'", 'FETCH is not a method', 'roles.GET must be a list', "roles need auth 'required'", 'reserved']) {
    t.ok(err.message.includes(needle), `mentions: ${needle}`)
  }
  t.equal(err.message.match(/prefix must be a path/g)?.length, 2)
})
