import t, { type Test } from 'tap'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig as loadAuthConfig } from '../../auth-service/src/config.js'
import { loadConfig as loadGatewayConfig } from '../../gateway/src/config.js'
import { loadServiceConfig } from '../../services/common/config.js'
import type { RunServiceOptions } from '../../services/common/server.js'
import { loadConfig as loadWebConfig } from '../../services/web/src/config.js'
import { pingRedis, REDIS_MISSING_HELP } from '../local-redis/redis-server.js'
import { freePort } from '../testing/ports.js'
import { STACK, localUrl, planStack, stackEnv, type StackEntry } from '../start/stack.js'
import { StartError, ensureKeys, ensureRedis, runStep, webBuildCommand } from '../start/setup.js'
import { safeUrl } from '../../services/kernel/logging.js'
import { REPO_ROOT } from '../testing/node-process.js'
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

/** The port a process picks when its port variable is not set, from its own code. */
async function defaultPortOf (t: Test, entry: StackEntry): Promise<number> {
  if (entry.name === 'auth') return loadAuthConfig({}).port
  if (entry.name === 'gateway') return loadGatewayConfig({ CSRF_SECRET: 'c'.repeat(32) }).port
  if (entry.name === 'web') return loadWebConfig({}).port
  // A demo service's server.ts passes its port to runService when imported: captured, not
  // started (the mock names the module as tsx resolves it, .ts).
  let options: RunServiceOptions | undefined
  await t.mockImport(
    `../../${entry.entry}`,
    { '../../services/common/server.ts': { runService: async (o: RunServiceOptions) => { options = o } } }
  )
  if (!options) throw new Error(`${entry.entry} did not call runService`)
  t.equal(
    `${options.envPrefix}_PORT`,
    entry.portVar,
    `${entry.name}: ${entry.portVar} is the variable its server reads`
  )
  return loadServiceConfig({}, options.envPrefix, options.defaultPort).port
}

t.test('the stack table follows the ports the servers default to', async (t) => {
  for (const entry of STACK) {
    t.equal(
      entry.defaultPort,
      await defaultPortOf(t, entry),
    `${entry.name}: ${entry.defaultPort}`
    )
  }
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
  t.notOk('JWKS_URL' in env, 'JWKS_URL is left to the gateway')
  t.equal(loadGatewayConfig({ ...env, CSRF_SECRET: 'c'.repeat(32) }).jwksUrl, 'http://127.0.0.1:5000/.well-known/jwks.json', 'which finds the JWKS on the auth port')
  t.equal(env.ORDERS_URL, 'http://127.0.0.1:4101', 'a wildcard host is called on loopback')
  t.equal(env.USERS_URL, 'http://users.example:1', 'an explicit URL is kept')
  t.equal(env.PAYMENTS_URL, 'http://127.0.0.1:4103')
  t.equal(env.WEB_URL, 'http://127.0.0.1:4104')
  t.notOk('UNUSED' in env)
  t.equal(localUrl(STACK.find((e) => e.name === 'users')!, { USERS_HOST: '::' }), 'http://[::1]:4102')
})

t.test('planStack builds specs from the table, leaves out a missing optional entry, ' +
  'lists missing required ones', async (t) => {
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
  t.same(
    gateway.args,
    ['--max-semi-space-size=8', 'dist/gateway/server.js'],
    'the gateway runs compiled (npm start builds it)'
  )
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

t.test('ensureKeys creates the keys and secrets.json once, keeps them, refuses a broken secrets.json', async (t) => {
  const root = tempRoot(t)
  const first = collect()
  const secrets = await ensureKeys(root, { KEYS_DIR: 'keys' }, first.log)
  const dir = join(root, 'keys')
  const file = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'))
  t.same(
    secrets,
    { REFRESH_TOKEN_SECRET: file.refreshTokenSecret, CSRF_SECRET: file.csrfSecret },
    'a relative KEYS_DIR counts from the root'
  )
  t.equal(first.lines[0], `[keys] keys in ${dir}`)
  t.equal(first.lines.filter((l) => / (active|next) /.test(l)).length, 2, 'one active and one next key listed')
  const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8')
  t.same(await ensureKeys(root, { KEYS_DIR: dir }, collect().log), secrets, 'the same secrets on the next start')
  t.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), manifest, 'and the same keys')
  writeFileSync(join(dir, 'secrets.json'), '{oops')
  const second = collect()
  await t.rejects(ensureKeys(root, { KEYS_DIR: dir }, second.log), StartError)
  t.ok(second.lines.some((l) => l.startsWith('[keys] ') && /JSON/.test(l)), 'the reason is printed as a [keys] line')
})

t.test('webBuildCommand: npm run build, only without dist/index.html', async (t) => {
  const root = tempRoot(t)
  t.same(webBuildCommand(root), { cwd: root, args: ['run', 'build'] })
  t.ok(
    JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.build,
    'the root package.json has that script'
  )
  mkdirSync(join(root, 'services', 'web', 'dist'), { recursive: true })
  writeFileSync(join(root, 'services', 'web', 'dist', 'index.html'), '<!doctype html>')
  t.equal(webBuildCommand(root), null, 'already built')
})

t.test('runStep prefixes the output of a command and resolves its exit code', async (t) => {
  const { lines, log } = collect()
  const code = await runStep(
    'keys',
    process.execPath,
    ['-e', 'console.log("one"); console.error("two"); process.exit(3)'],
    { cwd: tmpdir(), env: process.env },
    log
  )
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
