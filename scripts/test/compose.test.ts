/**
 * docker-compose.yml and the Dockerfile checked against the code, since no Docker engine runs
 * here: every process of the stack is a compose service started from its real entry file;
 * every environment variable a service gets is one its config loader reads (recorded through
 * an env Proxy), every variable a loader requires is set, and the loaders accept the values;
 * ports, upstream URLs and health-check URLs agree with the loaded configs and the apps' routes;
 * the health-check one-liners really exit 0/1; the Dockerfile has its stages and runs non-root.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import Fastify, { type FastifyInstance } from 'fastify'
import { buildAuthService } from '../../auth-service/src/app.js'
import { loadConfig as loadAuthConfig } from '../../auth-service/src/config.js'
import { loadKeyring } from '../../auth-service/src/keys/keyring.js'
import { buildGateway } from '../../gateway/src/app.js'
import { loadConfig as loadGatewayConfig, loadGatewayKeysConfig } from '../../gateway/src/config.js'
import { DEFAULT_GATEWAY_FILE, loadGatewayFile } from '../../gateway/src/gateway-file/index.js'
import { loadServiceConfig } from '../../services/common/config.js'
import { buildOrdersService } from '../../services/orders/src/app.js'
import { buildPaymentsService } from '../../services/payments/src/app.js'
import { buildUsersService } from '../../services/users/src/app.js'
import { buildWebServer } from '../../services/web/src/app.js'
import { loadConfig as loadWebConfig } from '../../services/web/src/config.js'
import { STACK } from '../start/stack.js'
import { GATEWAY_BUNDLE } from '../start/bundle.js'
import { useTestRedis } from '../testing/redis.js'
import { loadKeysCliConfig } from '../../auth-service/src/cli/keys/config.js'
import { DASHBOARD_FILE, DATASOURCE_VARIABLE, loadDashboard } from '../dashboard/dashboard.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

type Env = Record<string, string>
interface Service {
  image?: string
  build?: { context: string, target: string }
  command?: string[]
  environment?: Record<string, string | number | null>
  volumes?: string[]
  ports?: string[]
  deploy?: { replicas?: number }
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  configs?: Array<{ source: string, target: string }>
  networks?: Record<string, { ipv4_address?: string }>
  read_only?: boolean
  profiles?: string[]
}

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$ → $. */
function interpolate (value: string, env: Env): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (whole, name?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$'
    const v = env[name!]
    if (op === ':-') return v || arg!
    if (op === '-') return v ?? arg!
    if (op === ':?' || op === '?') {
      if (op === ':?' ? !v : v === undefined) throw new Error(`compose: ${name} is required: ${arg}`)
      return v!
    }
    return v ?? ''
  })
}

/** Deep-interpolates every string of a parsed compose file. */
function interpolateAll<T> (value: T, env: Env): T {
  if (typeof value === 'string') return interpolate(value, env) as T
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)])) as T
  }
  return value
}

interface RecordedReads<C> { reads: Set<string>, config?: C, error?: Error & { problems?: string[] } }

/** Calls a config loader with an env Proxy; returns the names it read and what it returned or threw. */
function recordReads<C> (loader: (env: NodeJS.ProcessEnv) => C, env: Env): RecordedReads<C> {
  const reads = new Set<string>()
  const proxy = new Proxy({ ...env }, {
    get (target, prop) {
      if (typeof prop === 'string') reads.add(prop)
      return target[prop as string]
    },
    has (target, prop) {
      if (typeof prop === 'string') reads.add(prop)
      return prop in target
    },
  })
  try {
    return { reads, config: loader(proxy) }
  } catch (err) {
    return { reads, error: err as Error }
  }
}

const LOADERS: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  auth: loadAuthConfig,
  gateway: loadGatewayConfig,
  orders: (env) => loadServiceConfig(env, 'ORDERS', 4101),
  users: (env) => loadServiceConfig(env, 'USERS', 4102),
  payments: (env) => loadServiceConfig(env, 'PAYMENTS', 4103),
  web: loadWebConfig,
}

/** The env names the keys CLI (keys-init) reads, from its sources (it takes its env as a plain object). */
const DOTENV: Env = { CSRF_SECRET: 'c'.repeat(43) }
const raw = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string,
  Service>,
  volumes: Record<string,
  unknown>,
  configs: Record<string,
  { content: string }>,
  networks: { default: { ipam: { config: Array<{ subnet: string }> } } },
}
const compose = interpolateAll(raw, DOTENV)
const services = compose.services
const envOf = (name: string): Env => Object.fromEntries(
  Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)])
)
/** What containers run of scripts/: the keys and users CLIs (thin entries into auth-service/src). */
const IMAGE_SCRIPTS = ['scripts/keys.ts', 'scripts/users.ts'] as const
/** The services of the optional profile `observability` (none of the stack's own is in a profile). */
const OBSERVABILITY = ['prometheus', 'grafana'] as const
const NODE_SERVICES = [...STACK.map((s) => s.name), 'keys-init']
const healthUrl = (name: string) => {
  const script = services[name]?.healthcheck?.test.at(-1) ?? ''
  const m = /fetch\('http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)'\)/.exec(script)
  return m ? { port: Number(m[1]), path: m[2]!, script } : null
}

t.test('interpolation follows the compose rules', async (t) => {
  const $ = (inner: string) => `\${${inner}}`
  t.equal(interpolate(`${$('A:-x')}|${$('B-y')}|$${$('C')}`, { A: '', B: '' }), `x||${$('C')}`)
  t.throws(() => interpolate($('S:?set S'), {}), /S is required: set S/)
  t.throws(() => interpolateAll(raw, {}), /CSRF_SECRET is required/)
})

t.test('every process of the stack is a service started from its real entry file', async (t) => {
  t.same(Object.keys(services).sort(), [...NODE_SERVICES, 'redis', 'lb', ...OBSERVABILITY].sort())
  const expected: Record<string, string> = Object.fromEntries(STACK.map((s) => [s.name, s.entry]))
  expected['keys-init'] = 'scripts/keys.ts'
  for (const name of NODE_SERVICES) {
    const s = services[name]!
    const stackEntry = STACK.find((e) => e.name === name)
    const bundled = stackEntry?.bundle
    if (bundled) {
      // Compiled in the image's build stage (checked with the Dockerfile below) from its entry.
      t.same(
        s.command,
        ['node', ...stackEntry.nodeArgs ?? [], bundled],
        `${name}: node ${bundled}, with the flags npm start uses`
      )
      t.ok(existsSync(join(ROOT, expected[name]!)), `${name}: ${expected[name]} exists`)
    } else {
      const [node, flag, loader, entry] = s.command ?? []
      t.same([node, flag, loader], ['node', '--import', 'tsx'], `${name}: node --import tsx`)
      t.equal(entry, expected[name], `${name}: runs ${expected[name]}`)
      t.ok(existsSync(join(ROOT, entry!)), `${name}: ${entry} exists`)
    }
    t.same(
      s.build,
      { context: '.', dockerfile: 'scripts/docker/Dockerfile', target: 'runtime' },
      `${name}: built from the runtime stage of the one Dockerfile`
    )
    t.equal(s.image, 'jwt-edge:local', `${name}: one image for all`)
    t.equal(s.read_only, true, `${name}: read-only root filesystem`)
  }
  t.same(services['keys-init']!.command!.slice(4), ['init'])
})

t.test('environment: names the loaders read, required ones set, values accepted', async (t) => {
  for (const name of Object.keys(LOADERS)) {
    const env = envOf(name)
    const loaded = recordReads(LOADERS[name]!, env)
    t.notOk(loaded.error, `${name}: the compose environment is valid (${loaded.error?.message ?? 'ok'})`)
    const empty = recordReads(LOADERS[name]!, {})
    const known = new Set([...loaded.reads, ...empty.reads])
    for (const variable of Object.keys(env)) {
      t.ok(known.has(variable), `${name}: ${variable} is read by its config loader`)
    }
    // Reverse: whatever the loader refuses to start without must be in the compose file.
    for (const problem of empty.error?.problems ?? []) {
      const variable = /^([A-Z][A-Z0-9_]+)/.exec(problem)?.[1]
      t.ok(variable && variable in env, `${name}: required ${variable} is set (${problem})`)
    }
    const config = loaded.config as { host: string, port: number }
    t.equal(config.host, '0.0.0.0', `${name}: listens on every interface in its container`)
    t.equal(config.port, healthUrl(name)?.port, `${name}: health check calls the configured port`)
  }
  const keysNames = new Set([
    ...recordReads(loadKeysCliConfig, {}).reads, ...recordReads(loadGatewayKeysConfig, {}).reads,
  ])
  t.ok(keysNames.has('KEYS_DIR'), 'keys CLI env names found')
  for (const variable of Object.keys(envOf('keys-init'))) {
    t.ok(keysNames.has(variable), `keys-init: ${variable} is read by the keys CLI`)
  }
})

t.test('URLs between services use service names and the ports those services listen on', async (t) => {
  const gw = loadGatewayConfig(envOf('gateway'))
  const portOf = (name: string) => (LOADERS[name]!(envOf(name)) as { port: number }).port
  for (const entry of STACK.filter((s) => s.urlVar)) {
    const url = new URL(envOf('gateway')[entry.urlVar!] ?? '')
    t.equal(url.hostname, entry.name, `${entry.urlVar} names the ${entry.name} service`)
    t.equal(Number(url.port), portOf(entry.name), `${entry.urlVar} uses ${entry.name}'s port`)
  }
  t.equal(new URL(gw.jwksUrl).host, 'auth:4000', 'JWKS from the auth service')
  for (const name of ['auth', 'gateway', 'keys-init']) {
    t.equal(new URL(envOf(name).REDIS_URL ?? '').hostname, 'redis', `${name}: REDIS_URL names the redis service`)
  }
  const auth = loadAuthConfig(envOf('auth'))
  t.equal(auth.redisClusterNodes, undefined, 'no REDIS_CLUSTER_NODES: standalone Redis')
  t.equal(auth.csrfSecret, gw.csrfSecret, 'auth and gateway share CSRF_SECRET')
  t.equal(auth.redisPrefix, gw.redisPrefix, 'same REDIS_PREFIX')
  t.same(gw.trustProxy, [services.lb!.networks!.default!.ipv4_address], 'the gateway trusts only the load balancer')
  t.equal(auth.trustProxy, compose.networks.default.ipam.config[0]!.subnet, 'the auth service trusts the stack network')
})

t.test('Redis, keys volume, replicas, start order and load balancer', async (t) => {
  const redis = services.redis!
  t.match(redis.command!.join(' '), /--appendonly yes/, 'AOF on')
  t.match(redis.command!.join(' '), /--appendfsync always/, 'every write fsynced: no session lost after a SIGKILL')
  t.ok(redis.volumes!.includes('redis-data:/data') && 'redis-data' in compose.volumes, 'Redis data on a named volume')
  t.same(redis.healthcheck!.test, ['CMD', 'redis-cli', 'ping'])

  const keysDir = envOf('keys-init').KEYS_DIR
  t.ok(services['keys-init']!.volumes!.includes(`keys:${keysDir}`), 'keys-init writes the keys volume at KEYS_DIR')
  t.ok(
    services.auth!.volumes!.includes(`keys:${loadAuthConfig(envOf('auth')).keysDir}:ro`),
    'auth reads the same volume at its KEYS_DIR'
  )
  t.ok('keys' in compose.volumes)
  const gatewayKeysDir = envOf('keys-init').GATEWAY_KEYS_DIR
  t.ok(services['keys-init']!.volumes!.includes(`gateway-keys:${gatewayKeysDir}`), 'keys-init writes the gateway keys')
  t.ok(
    services.gateway!.volumes!.includes(`gateway-keys:${loadGatewayConfig(envOf('gateway')).gatewayKeysDir}:ro`),
    'the gateways read them at GATEWAY_KEYS_DIR'
  )
  t.same(services.gateway!.depends_on!['keys-init'], { condition: 'service_completed_successfully' })
  for (const name of ['orders', 'users', 'payments']) {
    const loaded = LOADERS[name]!(envOf(name)) as { identityAssertion: { mode: string, jwksUrl: string } }
    const { identityAssertion } = loaded
    t.equal(identityAssertion.mode, 'required', `${name}: IDENTITY_ASSERTION=required`)
    t.equal(new URL(identityAssertion.jwksUrl).host, 'gateway:8080', `${name}: the gateway's JWKS`)
  }
  t.same(
    services.auth!.depends_on!['keys-init'],
    { condition: 'service_completed_successfully' },
    'auth starts after keys-init'
  )
  t.same(services.auth!.depends_on!.redis, { condition: 'service_healthy' })
  t.same(
    services.gateway!.depends_on!.auth,
    { condition: 'service_healthy' },
    'the gateway starts once the JWKS is served'
  )
  t.ok((services.auth!.deploy?.replicas ?? 1) >= 2, 'two auth services')
  t.ok((services.gateway!.deploy?.replicas ?? 1) >= 2, 'two gateways')
  for (const name of NODE_SERVICES.filter((n) => n !== 'keys-init')) {
    t.notOk(services[name]!.ports, `${name}: no published port`)
  }

  const lb = services.lb!
  t.same(lb.ports, ['127.0.0.1:8080:8080'], 'only the load balancer is published (loopback by default)')
  t.same(lb.depends_on!.gateway, { condition: 'service_healthy' })
  const conf = compose.configs[lb.configs![0]!.source]!.content
  t.match(conf, /server gateway:8080 resolve/, 'nginx balances over the gateway replicas (re-resolved)')
  t.match(conf, /proxy_set_header X-Forwarded-For \$remote_addr;/, 'the client address is set, never appended')
  t.match(conf, /resolver 127\.0\.0\.11/, "Docker's DNS")
  t.equal(lb.configs![0]!.target, '/etc/nginx/conf.d/default.conf')
})

t.test('health checks: node one-liners on routes the apps really have', async (t) => {
  const r = await useTestRedis(t)
  const keysDir = mkdtempSync(join(tmpdir(), 'compose-keys-'))
  const distDir = mkdtempSync(join(tmpdir(), 'compose-dist-'))
  t.teardown(() => {
    rmSync(keysDir, { recursive: true, force: true })
    rmSync(distDir, { recursive: true, force: true })
  })
  mkdirSync(join(distDir, 'assets'))
  writeFileSync(join(distDir, 'index.html'), '<!doctype html><title>t</title>')
  const keyring = await loadKeyring(keysDir)
  const apps: Record<string, () => Promise<FastifyInstance> | FastifyInstance> = {
    auth: () => buildAuthService(
      loadAuthConfig({ ...envOf('auth'), KEYS_DIR: keysDir, REDIS_URL: r.url, REDIS_PREFIX: r.prefix }),
      { keyring, redis: r.client, logger: false }
    ),
    gateway: async () => {
      // The image's gateway file, with the container's env (the JWKS URL moved off the stack's).
      const env = { ...envOf('gateway'), JWKS_URL: 'http://127.0.0.1:9/jwks', GATEWAY_KEYS_DIR: join(keysDir, 'gw') }
      const file = await loadGatewayFile(DEFAULT_GATEWAY_FILE, env)
      if (!file.ok) throw new Error(file.problems.join('\n'))
      t.equal(file.file.routes.find((x) => x.id === 'orders')?.upstream, 'http://orders:4101', 'the file follows ORDERS_URL')
      const config = { ...loadGatewayConfig(env), redisPrefix: r.prefix }
      return buildGateway(config, { file: file.file, redis: r.client, logStream: { write: () => {} } })
    },
    orders: () => buildOrdersService({ ...loadServiceConfig(envOf('orders'), 'ORDERS', 4101), logLevel: 'silent' }),
    users: () => buildUsersService({ ...loadServiceConfig(envOf('users'), 'USERS', 4102), logLevel: 'silent' }),
    payments: () => buildPaymentsService({
      ...loadServiceConfig(envOf('payments'), 'PAYMENTS', 4103),
      logLevel: 'silent',
    }),
    web: () => buildWebServer({ ...loadWebConfig(envOf('web')), distDir }, { logger: false }),
  }
  const scripts = new Set<string>()
  for (const [name, build] of Object.entries(apps)) {
    const check = healthUrl(name)
    t.ok(check, `${name}: health check is a node fetch one-liner`)
    t.equal(services[name]!.healthcheck!.test.slice(0, 3).join(' '), 'CMD node -e')
    const app = await build()
    t.teardown(() => app.close())
    await app.ready()
    t.ok(app.hasRoute({ method: 'GET', url: check!.path }), `${name}: GET ${check!.path} is a route`)
    if (name === 'gateway' || name === 'auth') {
      t.ok(app.hasRoute({ method: 'GET', url: '/metrics' }), `${name}: GET /metrics (for Prometheus)`)
    }
    scripts.add(check!.script.replace(/:\d+\/[a-z]+'/, ":PORT/PATH'"))
  }
  t.equal(scripts.size, 1, 'every one-liner is the same template')
  t.match(healthUrl('gateway')!.path, '/readyz', 'the gateway is healthy when ready (keys and Redis)')
  t.match(healthUrl('auth')!.path, '/readyz')

  // The template really exits 0 on a 2xx and 1 otherwise (non-2xx or nothing listening).
  const probe = Fastify()
  probe.get('/ok', async () => ({ ok: true }))
  probe.get('/down', async (_req, reply) => reply.code(503).send({ ok: false }))
  await probe.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => probe.close())
  const port = (probe.server.address() as { port: number }).port
  const template = [...scripts][0]!
  const exitCode = async (target: string) => {
    try {
      await run(process.execPath, ['-e', template.replace('PORT/PATH', target)], { timeout: 10_000 })
      return 0
    } catch (err) {
      return (err as { code?: number }).code
    }
  }
  t.equal(await exitCode(`${port}/ok`), 0, '200 → healthy')
  t.equal(await exitCode(`${port}/down`), 1, '503 → unhealthy')
  await probe.close()
  t.equal(await exitCode(`${port}/ok`), 1, 'nothing listening → unhealthy')
})

t.test('Dockerfile: build and runtime stages, production install, non-root', async (t) => {
  const dockerfile = (compose.services.gateway?.build as { dockerfile?: string } | undefined)?.dockerfile
  t.equal(dockerfile, 'scripts/docker/Dockerfile', 'compose builds from the one Dockerfile')
  const lines = read(dockerfile ?? 'scripts/docker/Dockerfile').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  const stages: Array<{ name: string, lines: string[] }> = []
  for (const line of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?$/i.exec(line)
    if (from) stages.push({ name: from[1] ?? '', lines: [] })
    else stages.at(-1)?.lines.push(line)
  }
  t.same(stages.map((s) => s.name), ['build', 'runtime'], 'stages build, runtime (last)')
  const [build, runtime] = stages
  t.ok(build!.lines.some((l) => /^RUN npm ci\b/.test(l) && !l.includes('--omit=dev')), 'build: full install')
  t.ok(build!.lines.includes('RUN npm run build'), 'build: the web app is built')
  t.ok(JSON.parse(read('package.json')).scripts.build, 'npm run build exists')
  t.ok(runtime!.lines.some((l) => /^RUN npm ci --omit=dev\b/.test(l)), 'runtime: npm ci --omit=dev')
  t.ok(JSON.parse(read('package.json')).dependencies.tsx, 'tsx is a production dependency (it runs the sources)')
  t.ok(
    runtime!.lines.includes('COPY --from=build /app/services/web/dist ./services/web/dist'),
    'runtime: the built web app'
  )
  const users = runtime!.lines.filter((l) => l.startsWith('USER '))
  t.ok(users.length > 0, 'runtime sets USER')
  t.notOk(['root', '0'].includes(users.at(-1)!.slice(5).trim()), `runtime runs as ${users.at(-1)}`)
  t.ok(
    runtime!.lines.findIndex((l) => l.startsWith('USER ')) < runtime!.lines.findIndex((l) => l.startsWith('CMD ')),
    'USER before CMD'
  )
  t.ok(build!.lines.includes('RUN npm run build:gateway'), 'build: the gateway is compiled')
  t.ok(JSON.parse(read('package.json')).scripts['build:gateway'], 'npm run build:gateway exists')
  t.ok(runtime!.lines.includes('COPY --from=build /app/dist/gateway ./dist/gateway'), 'runtime: the compiled gateway')
  const argv = JSON.stringify(['node', ...GATEWAY_BUNDLE.nodeArgs, GATEWAY_BUNDLE.outfile])
  const cmd = `CMD ${argv}`.replaceAll('","', '", "')
  t.ok(lines.includes(cmd), 'the image starts the compiled gateway by default')
  // Every source of every COPY from the build context (all words but COPY and the destination).
  const copied = runtime!.lines.filter((l) => /^COPY (?!--from)/.test(l)).flatMap((l) => l.split(/\s+/).slice(1, -1))
  const inImage = (file: string) => copied.some((src) => file === src || file.startsWith(`${src}/`))
  for (const file of [DEFAULT_GATEWAY_FILE, 'gateway/gateway.schema.json']) {
    t.ok(inImage(file), `${file} is copied into the runtime image (GATEWAY_CONFIG's default from /app)`)
  }
  for (const name of NODE_SERVICES) {
    if (STACK.find((e) => e.name === name)?.bundle) continue
    const entry = services[name]!.command![3]!
    t.ok(inImage(entry), `${name}: ${entry} is copied into the runtime image`)
  }
  const fromScripts = copied.filter((src) => src === 'scripts' || src.startsWith('scripts/'))
  t.same(fromScripts.sort(), [...IMAGE_SCRIPTS].sort(), 'of scripts/ the image copies the CLI entries only')
  for (const entry of IMAGE_SCRIPTS) t.ok(existsSync(join(ROOT, entry)), `${entry} exists`)
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim())
  for (const path of ['node_modules', 'keys', '.env', '.git']) {
    t.ok(ignored.includes(path), `.dockerignore keeps ${path} out of the image`)
  }
})

t.test('profile observability: Prometheus scrapes every gateway and auth replica, ' +
  'Grafana has it as datasource and the dashboard provisioned', async (t) => {
  const profiled = Object.keys(services).filter((name) => services[name]!.profiles !== undefined)
  t.same(profiled.sort(), [...OBSERVABILITY].sort(), 'only Prometheus and Grafana are in a profile')
  const mounts = (name: string) => (services[name]!.volumes ?? []).map((v) => {
    const [source, target, mode] = v.split(':') as [string, string, string?]
    return { source, target, mode, bind: source.startsWith('./') }
  })
  const mountOf = (name: string, target: string) => mounts(name).find((m) => m.target === target)
  for (const name of OBSERVABILITY) {
    t.same(services[name]!.profiles, ['observability'], `${name}: profile observability`)
    for (const m of mounts(name)) {
      if (m.bind) {
        t.ok(existsSync(join(ROOT, m.source)), `${name}: ${m.source} exists`)
        t.equal(m.mode, 'ro', `${name}: ${m.source} mounted read-only`)
      } else {
        t.ok(m.source in compose.volumes, `${name}: volume ${m.source} declared`)
      }
    }
    t.match(services[name]!.ports, [/^127\.0\.0\.1:\d+:\d+$/], `${name}: published on loopback by default`)
  }

  const prometheus = services.prometheus!
  const configPath = prometheus.command!.find((a) => a.startsWith('--config.file='))!.split('=')[1]!
  const configMount = mountOf('prometheus', configPath)
  t.equal(configMount?.source, './ops/prometheus/prometheus.yml', `--config.file ${configPath} is the repository's`)
  t.notOk(prometheus.command!.some((a) => a.startsWith('--web.listen-address')), 'Prometheus listens on :9090')
  t.match(prometheus.ports![0], /:9090$/)
  type Job = {
    job_name: string
    metrics_path?: string
    dns_sd_configs?: Array<{ names: string[], type: string, port: number }>
    static_configs?: Array<{ targets: string[] }>
  }
  const jobsOf = (file: string) => new Map(
    (parse(read(file)) as { scrape_configs: Job[] }).scrape_configs.map((j) => [j.job_name, j])
  )
  const jobs = jobsOf('ops/prometheus/prometheus.yml')
  const ports = {
    gateway: loadGatewayConfig(envOf('gateway')).port,
    auth: loadAuthConfig(envOf('auth')).port,
  }
  t.same([...jobs.keys()].sort(), ['auth', 'gateway'], 'one job per app with /metrics')
  for (const [name, port] of Object.entries(ports)) {
    const job = jobs.get(name)
    t.equal(job?.metrics_path ?? '/metrics', '/metrics', `${name}: GET /metrics`)
    t.same(job?.dns_sd_configs?.map(({ names, type, port }) => ({ names, type, port })),
      [{ names: [name], type: 'A', port }], `${name}: every replica of the ${name} service (DNS A), port ${port}`)
    const local = jobsOf('ops/prometheus/prometheus.local.yml').get(name)
    const stackPort = STACK.find((s) => s.name === name)?.defaultPort
    t.same(local?.static_configs, [{ targets: [`127.0.0.1:${stackPort}`] }],
      `${name}: the local config scrapes npm start's`)
  }

  const grafana = services.grafana!
  const provisioning = mountOf('grafana', '/etc/grafana/provisioning')
  t.equal(provisioning?.source, './ops/grafana/provisioning', 'provisioning from ops/grafana/provisioning')
  const [datasource, ...others] = (parse(read('ops/grafana/provisioning/datasources/prometheus.yml')) as {
    datasources: Array<{ type: string, url: string, isDefault?: boolean }>
  }).datasources
  t.same(others, [], 'one datasource')
  t.equal(datasource?.type, 'prometheus')
  t.equal(datasource?.url, 'http://prometheus:9090', 'the prometheus service on its port')
  t.ok(datasource?.isDefault, 'the default one (what the datasource variable picks first)')
  const dashboard = loadDashboard()
  t.equal(dashboard.templating.list.find((v) => v.name === DATASOURCE_VARIABLE)?.query, datasource?.type,
    'the dashboard\'s datasource variable lists datasources of that type')
  const providers = (parse(read('ops/grafana/provisioning/dashboards/jwt-edge.yml')) as {
    providers: Array<{ type: string, options: { path: string } }>
  }).providers
  t.equal(providers.length, 1)
  t.equal(providers[0]!.type, 'file')
  const dashboards = mountOf('grafana', providers[0]!.options.path)
  t.ok(dashboards, `the provider's path ${providers[0]!.options.path} is a mount`)
  const file = DASHBOARD_FILE.split('/').at(-1)!
  t.equal(`${dashboards?.source.slice(2)}/${file}`, DASHBOARD_FILE, `it holds ${DASHBOARD_FILE}`)
  t.equal(grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, `${providers[0]!.options.path}/${file}`,
    'the jwt-edge dashboard is the home page')
  t.same(grafana.depends_on, { prometheus: { condition: 'service_started' } })
})
