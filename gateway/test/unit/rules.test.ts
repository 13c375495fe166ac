import t from 'tap'
import { defaultConfig } from '../../src/config.js'
import { defaultRules, validateRules, type RuleInput } from '../../src/rules.js'

const config = defaultConfig()

t.test('the default table is valid and has the contract routes', async (t) => {
  const rules = validateRules(defaultRules(config))
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

t.test('the default table states each rule\'s policy', async (t) => {
  const rules = validateRules(defaultRules(config))
  t.same(rules.map((r) => [r.id, r.rateLimit, r.csrf, r.forwardCredentials]), [
    ['auth', 'auth-endpoints', 'origin', true],
    ['jwks', 'none', 'none', false],
    ['orders', 'per-user', 'double-submit', false],
    ['users', 'per-user', 'double-submit', false],
    ['payments', 'per-user', 'double-submit', false],
    ['web', 'none', 'none', false],
  ])
})

t.test('policy fields left out are filled in once, by auth mode', async (t) => {
  const [api, open] = validateRules([
    { id: 'api', prefix: '/api/x', upstream: 'http://127.0.0.1:1', auth: 'required', roles: {} },
    { id: 'open', prefix: '/open', upstream: 'http://127.0.0.1:1', auth: 'none', roles: {} },
  ])
  t.match(api, { rateLimit: 'per-user', csrf: 'double-submit', forwardCredentials: false })
  t.match(open, { rateLimit: 'none', csrf: 'none', forwardCredentials: false })
  const explicit = validateRules([{
    id: 'a', prefix: '/a', upstream: 'http://127.0.0.1:1', auth: 'required', roles: {}, rateLimit: 'none', csrf: 'none',
  }])[0]
  t.match(explicit, { rateLimit: 'none', csrf: 'none' }, 'an explicit value wins over the default')
})

t.test('a bad table fails at build time with every problem listed', async (t) => {
  const good = defaultRules(config)[2] as RuleInput
  const bad = [
    { ...good },
    { ...good, id: 'orders' }, // duplicate id
    { ...good, id: 'x1', prefix: 'api/x' }, // no leading slash
    { ...good, id: 'x2', prefix: '/api/x/' }, // trailing slash
    { ...good, id: 'x3', prefix: '/x3', upstream: 'nope' },
    { ...good, id: 'x4', prefix: '/x4', auth: 'maybe' as 'none' },
    { ...good, id: 'x5', prefix: '/x5', roles: { FETCH: ['a'] } },
    { ...good, id: 'x6', prefix: '/x6', roles: { GET: ['a,b'] } },
    {
      ...good,
      id: 'x7',
      prefix: '/x7',
      auth: 'none' as const,
      roles: { GET: ['admin'] },
      rateLimit: 'none' as const,
      csrf: 'none' as const,
    },
    { ...good, id: 'x8', prefix: '/api' },
  ]
  const err = t.throws(() => validateRules(bad)) as Error & { code: string }
  t.equal(err.code, 'GW_ERR_ROUTE_TABLE')
  const needles = [
    'duplicate id', 'prefix must be a path', 'upstream must be a URL', "auth must be 'required' or 'none'",
    'FETCH is not a method', 'roles.GET must be a list', "roles need auth 'required'", 'reserved',
  ]
  for (const needle of needles) t.ok(err.message.includes(needle), `mentions: ${needle}`)
  t.equal(err.message.match(/prefix must be a path/g)?.length, 2)
})

t.test('bad policy fields: every problem listed, each with its rule', async (t) => {
  const base = { upstream: 'http://127.0.0.1:1', roles: {} }
  const cases: Array<{ d: string, rule: RuleInput, problem: string }> = [
    {
      d: 'an unknown rateLimit',
      rule: { ...base, id: 'p1', prefix: '/p1', auth: 'required', rateLimit: 'per-ip' as 'none' },
      problem: "route 0 (p1): rateLimit must be one of 'auth-endpoints', 'per-user', 'none'",
    },
    {
      d: 'a per-user limit where no user is known',
      rule: { ...base, id: 'p2', prefix: '/p2', auth: 'none', rateLimit: 'per-user' },
      problem: "route 1 (p2): rateLimit 'per-user' needs auth 'required'",
    },
    {
      d: 'an unknown csrf mode',
      rule: { ...base, id: 'p3', prefix: '/p3', auth: 'required', csrf: 'token' as 'none' },
      problem: "route 2 (p3): csrf must be one of 'double-submit', 'origin', 'none'",
    },
    {
      d: 'double submit where no cookie session is verified',
      rule: { ...base, id: 'p4', prefix: '/p4', auth: 'none', csrf: 'double-submit' },
      problem: "route 3 (p4): csrf 'double-submit' needs auth 'required'",
    },
    {
      d: 'forwardCredentials as a string',
      rule: { ...base, id: 'p5', prefix: '/p5', auth: 'none', forwardCredentials: 'yes' as unknown as boolean },
      problem: 'route 4 (p5): forwardCredentials must be a boolean',
    },
  ]
  const err = t.throws(() => validateRules(cases.map((c) => c.rule))) as Error & { code: string }
  t.equal(err.code, 'GW_ERR_ROUTE_TABLE')
  const problems = err.message.replace(/^Invalid route table: /, '').split('; ')
  t.equal(problems.length, cases.length, 'one problem per bad field, all at once')
  for (const c of cases) t.ok(problems.includes(c.problem), c.d)
})
