import t from 'tap'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, pingRedis, REDIS_MISSING_HELP } from '../lib/redis-server.js'
import { STACK, localUrl, planStack, stackEnv } from '../lib/stack.js'
import { StartError, ensureRedis, readSecrets, runStep, safeUrl, webBuildCommand } from '../lib/stack-setup.js'
import { useTestRedis } from '../testing/redis.js'

function tempRoot (t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-edge-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function collect () {
  const lines: string[] = []
  return { lines, log: (name: string, message: string) => { lines.push(`[${name}] ${message}`) } }
}

t.test('the stack table follows the shared port decisions', async (t) => {
  t.same(Object.fromEntries(STACK.map((e) => [e.portVar, e.defaultPort])), {
    AUTH_PORT: 4000, ORDERS_PORT: 4101, USERS_PORT: 4102, PAYMENTS_PORT: 4103, WEB_PORT: 4104, GATEWAY_PORT: 8080,
  })
  t.equal(STACK.at(-1)!.name, 'gateway', 'the gateway comes last')
  t.same(STACK.at(-1)!.after, ['auth'])
  t.ok(STACK.every((e) => e.readyPath === '/readyz'), 'every process is ready when its /readyz says so')
})

t.test('stackEnv keeps what is set, fills secrets and Redis, and points the gateway at the ports', async (t) => {
  const env = stackEnv(
    { AUTH_PORT: '5000', ORDERS_HOST: '0.0.0.0', USERS_URL: 'http://users.example:1', CSRF_SECRET: 'mine', PATH: '/bin' },
    { REDIS_URL: 'redis://127.0.0.1:7000', REFRESH_TOKEN_SECRET: 'r', CSRF_SECRET: 'from-file', UNUSED: undefined })
  t.equal(env.PATH, '/bin', 'the parent env passes through')
  t.equal(env.REDIS_URL, 'redis://127.0.0.1:7000')
  t.equal(env.REFRESH_TOKEN_SECRET, 'r')
  t.equal(env.CSRF_SECRET, 'mine', 'a secret set in the environment wins over secrets.json')
  t.equal(env.AUTH_URL, 'http://127.0.0.1:5000')
  t.equal(env.JWKS_URL, 'http://127.0.0.1:5000/.well-known/jwks.json')
  t.equal(env.ORDERS_URL, 'http://127.0.0.1:4101', 'a wildcard host is called on loopback')
  t.equal(env.USERS_URL, 'http://users.example:1', 'an explicit URL is kept')
  t.equal(env.PAYMENTS_URL, 'http://127.0.0.1:4103')
  t.equal(env.WEB_URL, 'http://127.0.0.1:4104')
  t.notOk('UNUSED' in env)
  t.equal(localUrl(STACK.find((e) => e.name === 'users')!, { USERS_HOST: '::' }), 'http://[::1]:4102')
})

t.test('planStack builds specs from the table, leaves out a missing optional entry, lists missing required ones', async (t) => {
  const root = tempRoot(t)
  for (const entry of STACK.filter((e) => e.name !== 'web' && e.name !== 'auth')) {
    mkdirSync(join(root, entry.entry, '..'), { recursive: true })
    writeFileSync(join(root, entry.entry), '')
  }
  const plan = planStack(root, { GATEWAY_PORT: '18080', CSRF_SECRET: 'c', REFRESH_TOKEN_SECRET: 'r', PATH: '/bin' })
  t.same(plan.missing, ['auth-service/src/server.ts'])
  t.same(plan.specs.map((s) => s.name), ['orders', 'users', 'payments', 'gateway'])
  t.equal(plan.gatewayUrl, 'http://127.0.0.1:18080')
  const gateway = plan.specs.find((s) => s.name === 'gateway')!
  t.same(gateway.args, ['--max-semi-space-size=8', 'dist/gateway/server.js'], 'the gateway runs compiled (npm start builds it)')
  t.same(plan.specs.find((s) => s.name === 'orders')!.args, ['--import', 'tsx', 'services/orders/src/server.ts'])
  t.equal(gateway.cwd, root)
  t.equal(gateway.readyUrl, 'http://127.0.0.1:18080/readyz')
  t.equal(plan.specs.find((s) => s.name === 'orders')!.readyUrl, 'http://127.0.0.1:4101/readyz')
  t.same([gateway.env?.CSRF_SECRET, gateway.env?.REFRESH_TOKEN_SECRET], ['c', 'r'], 'the gateway gets the secrets')
  const orders = plan.specs.find((s) => s.name === 'orders')!
  t.same([orders.env?.CSRF_SECRET, orders.env?.REFRESH_TOKEN_SECRET, orders.env?.PATH], [undefined, undefined, '/bin'],
    'a business service does not')
  t.ok(STACK.find((e) => e.name === 'auth')!.secrets, 'the auth service gets them too')
})

t.test('readSecrets reads keys/secrets.json, tolerates its absence, refuses broken JSON', async (t) => {
  const dir = tempRoot(t)
  t.same(readSecrets(dir), {})
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ refreshTokenSecret: 'aaa', csrfSecret: 'bbb' }))
  t.same(readSecrets(dir), { REFRESH_TOKEN_SECRET: 'aaa', CSRF_SECRET: 'bbb' })
  writeFileSync(join(dir, 'secrets.json'), '{oops')
  t.throws(() => readSecrets(dir), StartError)
})

t.test('webBuildCommand: only without dist/index.html, and only when a build script exists', async (t) => {
  const root = tempRoot(t)
  const web = join(root, 'services', 'web')
  mkdirSync(web, { recursive: true })
  writeFileSync(join(root, 'package.json'), JSON.stringify({ scripts: { start: 'x' } }))
  t.equal(webBuildCommand(root), null, 'no web app config: nothing to build')
  writeFileSync(join(web, 'vite.config.ts'), '')
  t.equal(webBuildCommand(root), null, 'no build script yet: skipped silently')
  writeFileSync(join(root, 'package.json'), JSON.stringify({ scripts: { build: 'vite build' } }))
  t.same(webBuildCommand(root), { cwd: root, args: ['run', 'build'] })
  writeFileSync(join(root, 'package.json'), JSON.stringify({ scripts: { build: 'x', 'build:web': 'vite build' } }))
  t.same(webBuildCommand(root), { cwd: root, args: ['run', 'build:web'] })
  writeFileSync(join(web, 'package.json'), JSON.stringify({ scripts: { build: 'vite build' } }))
  t.same(webBuildCommand(root), { cwd: web, args: ['run', 'build'] })
  mkdirSync(join(web, 'dist'))
  writeFileSync(join(web, 'dist', 'index.html'), '<!doctype html>')
  t.equal(webBuildCommand(root), null, 'already built')
})

t.test('runStep prefixes the output of a command and resolves its exit code', async (t) => {
  const { lines, log } = collect()
  const code = await runStep('keys', process.execPath, ['-e', 'console.log("one"); console.error("two"); process.exit(3)'], { cwd: tmpdir(), env: process.env }, log)
  t.equal(code, 3)
  t.same(lines.sort(), ['[keys] one', '[keys] two'])
  t.equal(await runStep('x', '/nonexistent/cmd', [], { cwd: tmpdir(), env: process.env }, collect().log), 1)
})

t.test('safeUrl hides a Redis password', async (t) => {
  t.equal(safeUrl('redis://:hunter2@127.0.0.1:6379/0'), 'redis://:***@127.0.0.1:6379/0')
  t.equal(safeUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379')
})

t.test('ensureRedis uses a Redis that answers at REDIS_URL', async (t) => {
  const redis = await useTestRedis(t)
  const { lines, log } = collect()
  const found = await ensureRedis(tempRoot(t), { REDIS_URL: redis.url }, log)
  t.same(found, { url: redis.url })
  t.same(lines, [`[redis] using Redis at ${redis.url}`])
})

t.test('ensureRedis refuses a REDIS_URL that does not answer, saying what to do', async (t) => {
  const port = await freePort()
  const err = await ensureRedis(tempRoot(t), { REDIS_URL: `redis://:pw@127.0.0.1:${port}` }, collect().log).catch((e: unknown) => e)
  t.ok(err instanceof StartError)
  t.match((err as Error).message, `REDIS_URL=redis://:***@127.0.0.1:${port} does not answer`)
  t.match((err as Error).message, /apt-get install redis-server/)
  t.notMatch((err as Error).message, /pw@/, 'the password is not printed')
})

t.test('ensureRedis starts a private redis-server with its data in .run/redis when none answers', async (t) => {
  const root = tempRoot(t)
  const { lines, log } = collect()
  const deadDefault = `redis://127.0.0.1:${await freePort()}`
  const found = await ensureRedis(root, {}, log, deadDefault)
  t.ok(found.server, 'a server was started')
  t.teardown(() => found.server?.stop())
  t.equal(found.url, deadDefault, 'on the usual port, since it was free')
  t.ok(await pingRedis(found.url))
  t.ok(existsSync(join(root, '.run', 'redis')))
  t.match(lines[0], /^\[redis\] started a private redis-server pid=\d+ at redis:\/\/127\.0\.0\.1:\d+ \(data in \.run\/redis\)$/)
  await found.server!.stop()
  t.equal(await pingRedis(found.url), false, 'stopped')
  t.ok(existsSync(join(root, '.run', 'redis')), 'the data directory is kept between starts')
})

t.test('without any Redis and no redis-server on PATH, ensureRedis says exactly what to install', async (t) => {
  const path = process.env.PATH
  process.env.PATH = tempRoot(t)
  t.teardown(() => { process.env.PATH = path })
  const deadDefault = `redis://127.0.0.1:${await freePort()}`
  const err = await ensureRedis(tempRoot(t), {}, collect().log, deadDefault).catch((e: unknown) => e)
  t.ok(err instanceof StartError)
  t.equal((err as Error).message, REDIS_MISSING_HELP)
})
