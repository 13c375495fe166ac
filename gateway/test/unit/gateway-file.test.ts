import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileGatewayText, loadGatewayFile, type Validated } from '../../src/gateway-file/index.js'
import { interpolate } from '../../src/gateway-file/interpolate.js'
import { MAX_FILE_BYTES } from '../../src/gateway-file/read.js'
import { gatewayJsonSchema, GATEWAY_SCHEMA_FILE } from '../../src/gateway-file/json-schema.js'
import {
  GatewayFileSchema, ProviderSchema, RateLimitSchema, RouteSchema, WebSocketSchema,
} from '../../src/gateway-file/schema.js'

const SHIPPED = 'gateway/gateway.yaml'
const problemsOf = (r: Validated) => r.ok ? [] : r.problems

t.test('the shipped file: today\'s table, every URL following the same variables', async (t) => {
  const r = await loadGatewayFile(SHIPPED, {})
  if (!r.ok) throw new Error(r.problems.join('\n'))
  t.same(r.file.routes.map((x) => [x.id, x.prefix, x.auth, x.upstream]), [
    ['auth', '/auth', 'none', 'http://127.0.0.1:4000'],
    ['jwks', '/.well-known/jwks.json', 'none', 'http://127.0.0.1:4000'],
    ['admin', '/auth/admin', 'required', 'http://127.0.0.1:4000'],
    ['orders', '/api/orders', 'required', 'http://127.0.0.1:4101'],
    ['users', '/api/users', 'required', 'http://127.0.0.1:4102'],
    ['payments', '/api/payments', 'required', 'http://127.0.0.1:4103'],
    ['web', '/', 'none', 'http://127.0.0.1:4104'],
  ])
  t.same(r.file.providers.map((p) => [p.id, p.issuer, p.audience, p.jwksUrl, p.revocation]), [
    ['local', 'urn:jwt-edge:auth', ['urn:jwt-edge:api'], 'http://127.0.0.1:4000/.well-known/jwks.json', true],
  ])
  t.same(r.file.routes.find((x) => x.id === 'orders')?.roles, { DELETE: ['admin'] })
  t.same(r.file.notFoundPrefixes, ['/api'])

  const moved = await loadGatewayFile(SHIPPED, {
    AUTH_PORT: '5000', ORDERS_URL: 'http://orders.internal:80/', RATE_LIMIT_API: '42', JWT_AUDIENCE: 'aud-x',
  })
  if (!moved.ok) throw new Error(moved.problems.join('\n'))
  const route = (id: string) => moved.file.routes.find((x) => x.id === id)!
  t.equal(route('auth').upstream, 'http://127.0.0.1:5000', 'AUTH_PORT moves the auth route')
  t.equal(route('admin').upstream, 'http://127.0.0.1:5000', '...and the admin route')
  t.equal(moved.file.providers[0]?.jwksUrl, 'http://127.0.0.1:5000/.well-known/jwks.json', '...and the JWKS URL')
  t.equal(route('orders').upstream, 'http://orders.internal:80', 'ORDERS_URL wins over the port')
  t.equal(route('orders').rateLimit?.perMinute, 42, 'RATE_LIMIT_API is a number in the table')
  t.same(moved.file.providers[0]?.audience, ['aud-x'])
  t.not(moved.file.version, r.file.version, 'another table, another version')
  const again = await loadGatewayFile(SHIPPED, {})
  t.equal(again.ok && again.file.version, r.file.version, 'the same table, the same version')
})

const base = {
  providers: [{ id: 'local', issuer: 'urn:i', audience: 'urn:a', jwksUrl: 'http://127.0.0.1:1/jwks', revocation: true }],
  routes: [{ id: 'orders', prefix: '/api/orders', upstream: 'http://127.0.0.1:2', roles: { DELETE: ['admin'] } }],
}
const json = (v: unknown) => JSON.stringify(v)
const withRoutes = (...routes: unknown[]) => json({ ...base, routes })

const bad = (d: string, text: string, ...problems: RegExp[]) => ({ d, text, problems })
const invalid = [
  bad('a role list on a method the route lacks and a misspelt method',
    withRoutes({ id: 'a', prefix: '/a', upstream: 'http://x', methods: ['GET'], roles: { DELTE: ['x'], PUT: ['y'] } }),
    /^routes\[0\]\.roles\.DELTE: DELTE is not a method or "\*"$/, /^routes\[0\]\.roles\.PUT: PUT is not in methods$/),
  bad('duplicate ids and the same prefix with a shared method',
    withRoutes({ id: 'a', prefix: '/a', upstream: 'http://x' }, { id: 'a', prefix: '/a', methods: ['GET'], upstream: 'http://y' }),
    /^routes\[1\]\.id: "a" is also routes\[0\]$/, /^routes\[1\]\.prefix: \/a with GET is also routes\[0\]$/),
  bad('roles and providers on an auth: none route, an unknown provider',
    withRoutes({ id: 'a', prefix: '/a', upstream: 'http://x', auth: 'none', roles: { GET: ['r'] }, providers: ['nope'] }),
    /^routes\[0\]\.roles\.GET: roles need auth/, /^routes\[0\]\.providers\[0\]: unknown provider "nope"$/,
    /^routes\[0\]\.providers: providers need auth/),
  bad('an upstream that is not a URL, one with credentials, an ftp one',
    withRoutes({ id: 'a', prefix: '/a', upstream: 'orders' }, { id: 'b', prefix: '/b', upstream: 'http://u:p@x' },
      { id: 'c', prefix: '/c', upstream: 'ftp://x' }),
    /^routes\[0\]\.upstream: "orders" is not a URL$/, /^routes\[1\]\.upstream: a URL with credentials/,
    /^routes\[2\]\.upstream: "ftp:\/\/x" is not an http\(s\) URL$/),
  bad('schema problems: unknown fields, a bad id, a bad prefix, a wrong type',
    withRoutes({ id: 'Bad_Id', prefix: 'api/', upstrem: 'http://x', auth: 'maybe' }),
    /^routes\[0\]: unknown field "upstrem"$/, /^routes\[0\]\.id: must match pattern/, /^routes\[0\]\.prefix: must match pattern/,
    /^routes\[0\]: must have required properties upstream$/,
    /^routes\[0\]\.auth: must be one of "required", "optional", "none"$/),
  bad('a provider with neither jwksUrl nor discovery, a second auth service, a shared issuer',
    json({ ...base, providers: [...base.providers, { id: 'two', issuer: 'urn:i', audience: 'x', revocation: true }] }),
    /^providers\[1\]: give jwksUrl, or discovery: true$/, /^providers\[1\]\.issuer: also the issuer of providers\[0\]/,
    /^providers\[1\]\.revocation: only one provider is the auth service/),
  bad('a route on the gateway\'s own paths, a rate limit by user on an open route',
    withRoutes({ id: 'm', prefix: '/metrics', upstream: 'http://x', auth: 'none', rateLimit: { key: 'user', perMinute: 5 } }),
    /^routes\[0\]\.prefix: \/metrics is the gateway's own$/, /^routes\[0\]\.rateLimit\.key: key "user" needs auth/),
  bad('discovery, claim mapping and ES256 are for other issuers, not the auth service',
    json({ ...base, providers: [{ id: 'local', issuer: 'https://idp.example.com', audience: 'a', revocation: true, discovery: true, subjectClaim: 'uid', rolesClaim: 'groups', algorithms: ['ES256'] }] }),
    /^providers\[0\]\.discovery: the project's own auth service is found by jwksUrl$/,
    /^providers\[0\]\.subjectClaim: the project's own auth service's tokens carry "sub"$/,
    /^providers\[0\]\.rolesClaim: the project's own auth service's tokens carry "roles"$/,
    /^providers\[0\]\.algorithms: the project's own auth service signs RS256 only$/),
  bad('without the auth service among the providers',
    json({ ...base, providers: [{ id: 'partner', issuer: 'https://idp.example.com', audience: 'x', discovery: true }] }),
    /^providers: one provider must be this project's auth service/),
  bad('one bucket counted two ways, a not-found prefix a route has, OPTIONS in methods',
    json({
      ...base,
      routes: [
        { id: 'a', prefix: '/a', upstream: 'http://x', rateLimit: { key: 'user', perMinute: 5, bucket: 'shared' } },
        { id: 'b', prefix: '/b', upstream: 'http://x', rateLimit: { key: 'user', perMinute: 6, bucket: 'shared' } },
        { id: 'c', prefix: '/c', upstream: 'http://x', methods: ['GET', 'OPTIONS'] },
      ],
      notFoundPrefixes: ['/a', '/metrics'],
    }),
    /^routes\[1\]\.rateLimit\.bucket: bucket "shared" is also routes\[0\]'s, with another key or perMinute/,
    /^routes\[2\]\.methods\[1\]: OPTIONS is the gateway's own/,
    /^notFoundPrefixes\[0\]: \/a is also routes\[0\]'s prefix$/, /^notFoundPrefixes\[1\]: \/metrics is the gateway's own$/),
  bad('two buckets naming one counter (bucket auth-login, and bucket auth with the path /auth/login)',
    withRoutes(
      {
        id: 'auth',
        prefix: '/auth',
        upstream: 'http://x',
        auth: 'none',
        rateLimit: { key: 'ip', perMinute: 5, paths: ['/auth/login'] }
      },
      {
        id: 'other',
        prefix: '/other',
        upstream: 'http://x',
        auth: 'none',
        rateLimit: { key: 'ip', perMinute: 5, bucket: 'auth-login' }
      }),
    /^routes\[1\]\.rateLimit\.bucket: counter "auth-login" is also bucket "auth" of routes\[0\]$/),
  bad('no routes and no providers', json({ providers: [], routes: [] }),
    /^providers: must not have fewer than 1/, /^routes: must not have fewer/),
]

for (const c of invalid) {
  t.test(`invalid: ${c.d}`, async (t) => {
    const problems = problemsOf(compileGatewayText(c.text, 'gw.json', {}))
    for (const p of c.problems) t.ok(problems.some((x) => p.test(x)), `${p} in:\n${problems.join('\n')}`)
    t.equal(problems.length, c.problems.length, 'nothing else is reported')
  })
}

t.test('syntax errors name the line and column', async (t) => {
  const yaml = problemsOf(compileGatewayText('providers:\n  - id: a\n routes: [\n', 'gw.yaml', {}))
  t.match(yaml[0], /^gw\.yaml:\d+:\d+: invalid YAML: /)
  const dup = problemsOf(compileGatewayText('routes: []\nroutes: []\n', 'gw.yml', {}))
  t.match(dup[0], /^gw\.yml:2:1: invalid YAML: Map keys must be unique/)
  const jsonErr = problemsOf(compileGatewayText('{\n  "routes": [,]\n}', 'gw.json', {}))
  t.match(jsonErr[0], /^gw\.json:2:\d+: invalid JSON: /)
  t.match(problemsOf(compileGatewayText('{}', 'gw.toml', {}))[0], /unknown format "\.toml"/)
})

t.test('what cannot be read is refused with a reason, never a crash', async (t) => {
  const dir = t.testdir({ 'big.yaml': 'x'.repeat(MAX_FILE_BYTES + 1), 'latin1.yaml': Buffer.from([0x61, 0xe9, 0x0a]) })
  mkdirSync(join(dir, 'dir.yaml'))
  t.match(problemsOf(await loadGatewayFile(join(dir, 'missing.yaml'), {})), [/cannot be read \(no such file\)/])
  t.match(problemsOf(await loadGatewayFile(join(dir, 'dir.yaml'), {})), [/not a regular file/])
  t.match(problemsOf(await loadGatewayFile(join(dir, 'big.yaml'), {})), [/over the 1048576-byte limit/])
  t.match(problemsOf(await loadGatewayFile(join(dir, 'latin1.yaml'), {})), [/not UTF-8 text/])
})

// The strings below are the file's ${VAR} syntax, not template literals.
/* eslint-disable no-template-curly-in-string */
t.test('${VAR} interpolation', async (t) => {
  const env = { A: 'a', N: '7', EMPTY: '' }
  const r = interpolate({
    x: ['${A}', '${B:-b}', '${B:-${A}-x}', 'p-${N}', '${N}', '$${A}', '${EMPTY:-d}', '${C:-true}'],
  }, env)
  t.same(r, { value: { x: ['a', 'b', 'a-x', 'p-7', 7, '${A}', 'd', true] }, problems: [] })
  const bad = interpolate({ routes: [{ upstream: '${ORDERS_URL}' }, { upstream: 'http://${HOST' }, { id: '${1X}' }] }, {})
  t.same(bad.problems, [
    'routes[0].upstream: ${ORDERS_URL} is not set (give it a value or a default: ${ORDERS_URL:-value})',
    'routes[1].upstream: "${" at character 8 is never closed',
    'routes[2].id: "${1X}" is not ${NAME} or ${NAME:-default}',
  ])
})
/* eslint-enable no-template-curly-in-string */

t.test('gateway.schema.json is the schema the gateway uses (npm run config:schema writes it)', async (t) => {
  t.equal(readFileSync(GATEWAY_SCHEMA_FILE, 'utf8'), gatewayJsonSchema())
})

t.test('a file written by a tool as JSON is the same table as the YAML', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'gw.json')
  writeFileSync(path, json(base))
  const r = await loadGatewayFile(path, {})
  t.ok(r.ok)
  if (r.ok) t.same(r.file.routes[0]?.roles, { DELETE: ['admin'] })
})

t.test('npm run config:check: the route table and exit 0, or every problem and exit 1', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const check = (file: string) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/config-check.ts', file],
    { encoding: 'utf8', env: { PATH: process.env.PATH } })
  const good = check(SHIPPED)
  t.equal(good.status, 0)
  t.match(good.stdout, /^gateway\/gateway\.yaml: valid \(version [0-9a-f]{12}\)$/m)
  t.match(good.stdout, /^id\s+prefix\s+methods\s+auth\s+providers\s+roles\s+upstream$/m)
  const orders = /^orders\s+\/api\/orders\s+DELETE,GET,HEAD,PATCH,POST,PUT\s+required\s+local\s+DELETE:admin\s+(\S+)$/m
  t.equal(orders.exec(good.stdout)?.[1], 'http://127.0.0.1:4101/orders')
  const invalidFile = withRoutes({ id: 'a', prefix: '/a', upstream: 'orders', auth: 'none', roles: { GET: ['r'] } })
  const dir = t.testdir({ 'bad.json': invalidFile })
  const badRun = check(join(dir, 'bad.json'))
  t.equal(badRun.status, 1)
  t.match(badRun.stderr, /bad\.json: 2 problems\n {2}- routes\[0\]\.roles\.GET: roles need auth .*\n {2}- routes\[0\]\.upstream: "orders" is not a URL/)
  t.equal(badRun.stdout, '', 'nothing on stdout')
})

t.test('gateway/README.md: its field table names every field of the schema, and no other', async (t) => {
  const readme = readFileSync('gateway/README.md', 'utf8')
  const start = readme.indexOf('## The gateway file')
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
  const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!)
  const keys = (schema: { properties: object }, at: string) => Object.keys(schema.properties).map((k) => `${at}${k}`)
  const arrays = new Set(['providers', 'routes'])
  const fields = [
    ...Object.keys(GatewayFileSchema.properties).map((k) => arrays.has(k) ? `${k}[]` : k),
    ...keys(ProviderSchema, 'providers[].'),
    ...keys(RouteSchema, 'routes[].'),
    ...keys(RateLimitSchema, 'routes[].rateLimit.'),
    ...keys(WebSocketSchema, 'routes[].websocket.'),
  ]
  t.same([...documented].sort(), [...fields].sort())
})

t.test('the READMEs\' example files are valid gateway files', async (t) => {
  const examples = [
    ['README.md', '## Put it in front of your services'],
    ['gateway/README.md', '## The gateway file'],
  ] as const
  for (const [file, heading] of examples) {
    const text = readFileSync(file, 'utf8')
    const section = text.slice(text.indexOf(heading))
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1]
    t.ok(yaml, `${file} has an example`)
    const compiled = compileGatewayText(yaml!, `${file}.example.yaml`, {})
    t.same(problemsOf(compiled), [], `${file}: the example validates`)
    if (compiled.ok) t.ok(compiled.file.routes.length >= 3, `${file}: with its routes`)
  }
})
