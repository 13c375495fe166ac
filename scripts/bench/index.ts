/**
 * `npm run bench [-- --duration 5 --connections 50 --targets a,b --no-micro]`: one run, side
 * by side, same upstream, same client (autocannon), each target its own process pinned to
 * core 0 (taskset, when there are 2+ cores) while this process (the load) and the upstream
 * sit on core 1. All targets run at once but take turns under load, in 1 s slices. Per
 * target: req/s, p50/p99, CPU seconds of the target over its slices (/proc utime+stime)
 * and requests per CPU-second, RSS. Then the micro-figures
 * (verifications/s, refreshes/s, revocation propagation) and the RSS with 100k cached
 * tokens. Prints ratios first; writes the raw JSON to bench-results/. Bounded: a few
 * seconds per target, a private redis-server, every child stopped at the end.
 * BENCH_PROFILE_DIR=dir: a CPU profile of each target over its measured window (the
 * profiler costs CPU too: do not compare figures of a profiled run).
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process'
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { GATEWAY_BUNDLE, bundle } from '../start/bundle.js'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, REVOCATION } from '../../auth-service/src/contract.js'
import { startRedisServer } from '../local-redis/redis-server.js'
import { startOtlpReceiver } from '../testing/otlp.js'
import {
  cpuSeconds,
  fmt,
  formatTable,
  parseArgs,
  percentile,
  positiveNumber,
  ratio,
  rssMb,
  runLoad,
  type LoadOptions,
  type LoadResult,
} from './bench-lib.js'

const ALL_TARGETS = [
  'direct', 'bare', 'gateway-noauth', 'gateway', 'gateway-trace-propagate', 'gateway-trace-export', 'gateway-cold',
  'seed', 'gateway-baseline',
] as const
type Target = typeof ALL_TARGETS[number]
const DESCRIPTIONS: Record<Target, string> = {
  direct: 'upstream directly (node:http, small JSON)',
  bare: 'bare Fastify + @fastify/http-proxy, no auth',
  'gateway-noauth': 'gateway, auth off (rule auth none)',
  gateway: 'gateway, full pipeline (verify+cache, revocation, identity, rate limit on Redis); tracing off',
  'gateway-trace-propagate': 'gateway, tracing on, propagation only (OTEL_TRACES_EXPORTER=none: non-recording spans)',
  'gateway-trace-export': 'gateway, tracing on, 10 % of traces exported over OTLP/HTTP to a local receiver',
  'gateway-cold': 'gateway, every token new (cold verification)',
  seed: "seeds' stack: express + jsonwebtoken + http-proxy-middleware",
  'gateway-baseline': 'gateway, full pipeline, built from another checkout (BENCH_BASELINE): a same-run A/B',
}
/** A compiled dist/bench/target.js of another checkout, run as the 'gateway-baseline' target. */
const BASELINE = process.env.BENCH_BASELINE

const root = fileURLToPath(new URL('../../', import.meta.url))
const TARGET = { entry: 'scripts/bench/target.ts', outfile: 'dist/bench/target.js' }
const args = parseArgs(process.argv.slice(2))
const duration = positiveNumber(args, 'duration', 5)
const connections = Math.round(positiveNumber(args, 'connections', 50))
const withMicro = !args.has('no-micro')
const DEFAULT_TARGETS = ALL_TARGETS.filter((t) => t !== 'gateway-baseline' || BASELINE !== undefined)
const targets = (args.get('targets') ?? DEFAULT_TARGETS.join(',')).split(',')
  .map((s) => s.trim()).filter(Boolean) as Target[]
for (const t of targets) {
  if (!(ALL_TARGETS as readonly string[]).includes(t)) {
    throw new Error(`unknown target "${t}" (known: ${ALL_TARGETS.join(', ')})`)
  }
}

const hasTaskset = spawnSync('taskset', ['-V']).status === 0
// Decided before this script pins itself to one core (then it sees only that one).
const pin = process.env.BENCH_PINNED === '1' || (hasTaskset && availableParallelism() >= 2)
const cores = Number(process.env.BENCH_CORES ?? availableParallelism())
// Re-run this script on core 1, so the load generator never shares a core with a target.
if (pin && process.env.BENCH_PINNED !== '1') {
  const r = spawnSync('taskset', [
    '-c',
    '1',
    process.execPath,
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
  ], {
    stdio: 'inherit', cwd: root, env: { ...process.env, BENCH_PINNED: '1', BENCH_CORES: String(cores) },
  })
  process.exit(r.status ?? 1)
}

const children = new Set<ChildProcess>()
function startChild (file: string, core: string, env: Record<string, string>, ipc: boolean): ChildProcess {
  // BENCH_NODE_ARGS: extra node flags for the targets, e.g. "--cpu-prof --cpu-prof-dir=prof".
  // Targets run compiled, as `npm start` runs the gateway (scripts/start/bundle.ts): every
  // target alike, so no one pays for the TypeScript loader; the rest runs under tsx.
  const run = file === TARGET.entry ? [TARGET.outfile] : file.endsWith('.js') ? [file] : ['--import', 'tsx', file]
  const cmd = [process.execPath, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...run]
  const [bin, ...argv] = pin ? ['taskset', '-c', core, ...cmd] : cmd
  const stdio: StdioOptions = ['ignore', ipc ? 'ignore' : 'pipe', 'pipe', ...(ipc ? ['ipc' as const] : [])]
  const child = spawn(bin as string, argv, { cwd: root, env: { ...process.env, ...env }, stdio })
  children.add(child)
  child.once('exit', () => children.delete(child))
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr = (stderr + String(d)).slice(-4000) })
  child.once(
    'exit',
    (code) => { if (code && code !== 0 && !stopping) console.error(`${file} exited ${code}: ${stderr}`) }
  )
  return child
}
let stopping = false
function stopAll (): void {
  stopping = true
  for (const c of children) c.kill('SIGKILL')
}
process.once('SIGINT', () => { stopAll(); process.exit(130) })

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

function message<T> (child: ChildProcess, pick: (m: any) => T | undefined, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not answer in time')), timeoutMs)
    const onMessage = (m: unknown) => {
      const v = pick(m)
      if (v !== undefined) { clearTimeout(timer); child.off('message', onMessage); resolve(v) }
    }
    child.on('message', onMessage)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited (${code}) before answering`)) })
  })
}

interface StartedTarget { child: ChildProcess, url: string }

async function startTarget (
  kind: string, core: string, env: Record<string, string>, file = TARGET.entry
): Promise<StartedTarget> {
  const child = startChild(file, core, { BENCH_KIND: kind, ...env }, true)
  const port = await message(child, (m) => typeof m?.port === 'number' ? m.port as number : undefined)
  return { child, url: `http://127.0.0.1:${port}` }
}

async function get (url: string, headers: Record<string, string> = {}, agent?: http.Agent): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { headers, agent },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }
    )
    req.on('error', reject)
  })
}

async function waitReady (url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while ((await get(`${url}/readyz`).catch(() => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${url} not ready`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// ---- keys and tokens ----------------------------------------------------------------------
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const kid = 'bench-1'
const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] })
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const header = b64({ alg: 'RS256', kid, typ: 'at+jwt' })
function makeToken (sub: string, sid = `sid-${randomUUID()}`): string {
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: DEFAULT_ISSUER, aud: DEFAULT_AUDIENCE, sub, sid, jti: randomUUID(), roles: ['user'] }
  const input = `${header}.${b64({ ...claims, iat: now, exp: now + 3600 })}`
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

console.log(`bench: ${duration} s per target, ${connections} connections, targets: ${targets.join(', ')}`)
const pinning = pin ? 'targets pinned to core 0, load + upstream to core 1' : 'no pinning (taskset missing or 1 core)'
console.log(`machine: ${cores} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ${pinning}`)

await bundle(root, TARGET.entry, TARGET.outfile)
const redisServer = await startRedisServer()
const results: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  duration,
  connections,
  node: process.version,
  cores,
  pinned: pin,
}
const rows: Array<{ target: Target, load: LoadResult, cpuS: number | null, rssMb: number | null }> = []
// The exporting target's spans go to a receiver in this process, which counts them.
const otlp = targets.includes('gateway-trace-export') ? await startOtlpReceiver() : undefined
const TRACING_ENV: Partial<Record<Target, Record<string, string>>> = {
  'gateway-trace-propagate': { OTEL_TRACES_EXPORTER: 'none' },
  'gateway-trace-export': {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp?.url ?? '', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1',
  },
}
try {
  const upstream = await startTarget('upstream', '1', { BENCH_JWKS: jwks })
  const gatewayEnv = {
    CSRF_SECRET: randomBytes(32).toString('base64url'),
    JWKS_URL: `${upstream.url}/.well-known/jwks.json`,
    AUTH_URL: upstream.url,
    ORDERS_URL: upstream.url,
    USERS_URL: upstream.url,
    PAYMENTS_URL: upstream.url,
    WEB_URL: upstream.url,
    REDIS_URL: redisServer.url,
    REDIS_PREFIX: 'bench:',
    RATE_LIMIT_API: '1000000000',
    RATE_LIMIT_AUTH: '1000000000',
    GATEWAY_REGISTRY_INTERVAL: '0',
    LOG_LEVEL: 'info',
    // The gateway runs with the node flags npm start and the image give it.
    NODE_OPTIONS: GATEWAY_BUNDLE.nodeArgs.join(' '),
  }
  const warmTokens = Array.from({ length: connections }, (_, i) => makeToken(`bench-user-${i}`))
  let coldTokens: string[] = []
  if (targets.includes('gateway-cold')) {
    const count = Math.min(4000, Math.max(600, Math.round(duration * 600)))
    process.stderr.write(`signing ${count} distinct tokens for the cold run...\n`)
    coldTokens = Array.from({ length: count }, (_, i) => makeToken(`cold-user-${i}`))
  }

  // Every target is started and warmed up first; then they take turns in 1 s slices
  // (round robin, `duration` rounds), so a machine that gets busier or quieter during the
  // run affects them alike. Requests and CPU seconds add up over the slices; latency is the
  // median over the slices of each slice's percentile.
  interface Running {
    target: Target,
    child: ChildProcess,
    url: string,
    load: Omit<LoadOptions,
    'title' | 'duration'>,
    slices: LoadResult[],
    cpuS: number,
  }
  const running: Running[] = []
  for (const target of targets) {
    let url: string
    let child: ChildProcess
    if (target === 'direct') {
      ({ child, url } = await startTarget('upstream', '0', { BENCH_JWKS: jwks }))
    } else if (target === 'bare') {
      ({ child, url } = await startTarget('bare', '0', { BENCH_UPSTREAM: upstream.url }))
    } else if (target === 'seed') {
      ({ child, url } = await startTarget(
        'seed',
        '0',
        { BENCH_UPSTREAM: upstream.url, BENCH_PUBLIC_PEM: publicKey.export({ format: 'pem', type: 'spki' }) as string }
      ))
    } else if (target === 'gateway-baseline') {
      if (BASELINE === undefined) throw new Error('gateway-baseline needs BENCH_BASELINE (a compiled target.js)')
      ;({ child, url } = await startTarget('gateway', '0', gatewayEnv, BASELINE))
      await waitReady(url)
    } else {
      const kind = target === 'gateway-noauth' ? 'gateway-noauth' : 'gateway'
      // Cold: the cache holds fewer entries than the rotation, oldest out first, so every token misses.
      const coldMax = process.env.BENCH_COLD_CACHE_MAX ?? String(Math.floor(coldTokens.length / 4))
      const cache: Record<string, string> = target === 'gateway-cold' ? { TOKEN_CACHE_MAX: coldMax } : {}
      ;({ child, url } = await startTarget(kind, '0', { ...gatewayEnv, ...cache, ...TRACING_ENV[target] }))
      await waitReady(url)
    }
    const path = target === 'direct' ? '/orders' : '/api/orders'
    let clientIndex = 0
    let cold = 0
    const load = {
      url: `${url}${path}`,
      connections,
      ...(target === 'gateway-cold'
        ? {
            requests: [{
              setupRequest: (req: { headers?: Record<string, string> }) => {
                const i = (cold++) % coldTokens.length
                return { ...req, headers: { ...req.headers, authorization: `Bearer ${coldTokens[i]}` } }
              },
            }],
          }
        : {
            setupClient: (client: { setHeaders: (h: Record<string, string>) => void }) => {
              client.setHeaders({ authorization: `Bearer ${warmTokens[(clientIndex++) % warmTokens.length]}` })
            },
          }),
    }
    await runLoad({ ...load, title: `${target} warm-up`, duration: 1 }, true)
    running.push({ target, child, url, load, slices: [], cpuS: 0 })
  }

  const profileDir = process.env.BENCH_PROFILE_DIR
  if (profileDir) {
    for (const r of running) {
      if (r.target === 'direct') continue
      r.child.send({ profile: 'start' })
      await message(r.child, (m) => m?.profiling)
    }
  }
  const rounds = Math.max(1, Math.round(duration))
  const slice = duration / rounds
  for (let round = 1; round <= rounds; round++) {
    for (const r of running) {
      const cpu0 = cpuSeconds(r.child.pid as number)
      r.slices.push(
        await runLoad({ ...r.load, title: `${r.target} (round ${round}/${rounds})`, duration: slice }, true)
      )
      const cpu1 = cpuSeconds(r.child.pid as number)
      r.cpuS += cpu0 === null || cpu1 === null ? NaN : cpu1 - cpu0
    }
  }
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true })
    for (const r of running) {
      if (r.target === 'direct') continue
      r.child.send({ profile: 'stop', file: `${profileDir}/${r.target}.cpuprofile` })
      await message(r.child, (m) => m?.profiled)
    }
  }
  for (const r of running) {
    rows.push({
      target: r.target,
      load: combine(r.target, r.slices),
      cpuS: Number.isNaN(r.cpuS) ? null : r.cpuS,
      rssMb: rssMb(r.child.pid as number),
    })
    if (r.target === 'gateway' && withMicro) {
      results.revocation = await revocationLag(r.url, Math.max(10, Math.min(50, Math.round(duration * 10))))
    }
    await stopChild(r.child)
  }

  if (withMicro && (targets.includes('gateway') || targets.includes('gateway-cold'))) {
    // As npm start runs the gateway (its node flags), then with V8's defaults.
    const rss: Array<Record<string, unknown>> = []
    for (const nodeOptions of [GATEWAY_BUNDLE.nodeArgs.join(' '), '']) {
      process.stderr.write(`RSS with 100k cached tokens (${nodeOptions || 'V8 defaults'})...\n`)
      const { child, url } = await startTarget(
        'gateway',
        '0',
        { ...gatewayEnv, TOKEN_CACHE_MAX: '100000', NODE_OPTIONS: nodeOptions }
      )
      await waitReady(url)
      const traffic = async () => {
        const anyToken = () => warmTokens[Math.floor(Math.random() * warmTokens.length)]
        const setupClient: LoadOptions['setupClient'] = (c) => c.setHeaders({ authorization: `Bearer ${anyToken()}` })
        await runLoad({ url: `${url}/api/orders`, connections, duration: 1, title: 'rss traffic', setupClient }, false)
      }
      await traffic()
      child.send({ fill: 0 })
      const empty = await message(
        child,
        (m) => typeof m?.size === 'number' ? m as { heapUsedMb: number, rssMb: number } : undefined
      )
      child.send({ fill: 100_000 })
      const full = await message(
        child,
        (m) => typeof m?.size === 'number' ? m as { size: number, heapUsedMb: number } : undefined
      )
      await traffic()
      rss.push({
        nodeOptions,
        entries: full.size,
        beforeMb: empty.rssMb,
        afterMb: rssMb(child.pid as number),
        heapBeforeMb: empty.heapUsedMb,
        heapAfterMb: full.heapUsedMb,
      })
      await stopChild(child)
    }
    results.rssCache = rss
  }

  if (withMicro) {
    process.stderr.write('micro-figures: verifications per second...\n')
    results.micro = await runMicro(Math.max(1, Math.min(3, duration / 2)))
    process.stderr.write('micro-figures: refreshes per second (scripts/bench/refresh.ts)...\n')
    results.refresh = await runRefresh(Math.max(1, Math.min(4, duration)))
  }
  upstream.child.kill('SIGKILL')
} finally {
  stopAll()
  await redisServer.stop({ removeDir: true })
  await otlp?.close()
}

// ---- report -------------------------------------------------------------------------------
const perCpu = (t: Target) => {
  const r = rows.find((x) => x.target === t)
  return r && r.cpuS ? r.load.total / r.cpuS : null
}
const micro = results.micro as Record<string, number> | undefined
const rev = results.revocation as { p50: number, p99: number, samples: number } | undefined
const refresh = results.refresh as { refreshesPerS: number, signsPerS: number } | undefined
const rssCache = results.rssCache as Array<{
  nodeOptions: string,
  entries: number,
  beforeMb: number | null,
  afterMb: number | null,
  heapBeforeMb: number,
  heapAfterMb: number,
}> | undefined

const ratioRows: Array<[string, string, string]> = []
const addRatio = (what: string, value: string, target: string) => {
  if (!value.startsWith('-')) ratioRows.push([what, value, target])
}
addRatio('full gateway / bare proxy (req per CPU-s)', ratio(perCpu('gateway'), perCpu('bare')), '>= 1.00x')
addRatio('gateway auth on / auth off (req per CPU-s)', ratio(perCpu('gateway'), perCpu('gateway-noauth')), '>= 0.95x')
addRatio("full gateway / seeds' stack (req per CPU-s)", ratio(perCpu('gateway'), perCpu('seed')), '>= 6x')
addRatio('gateway tracing propagate-only / off (req per CPU-s)',
  ratio(perCpu('gateway-trace-propagate'), perCpu('gateway')), '')
addRatio('gateway tracing 10 % exported / off (req per CPU-s)',
  ratio(perCpu('gateway-trace-export'), perCpu('gateway')), '')
addRatio('cold gateway / warm gateway (req per CPU-s)', ratio(perCpu('gateway-cold'), perCpu('gateway')), '')
addRatio('bare proxy / direct (req per CPU-s)', ratio(perCpu('bare'), perCpu('direct')), '')
if (targets.includes('gateway-baseline')) {
  addRatio('gateway / gateway-baseline (req per CPU-s)', ratio(perCpu('gateway'), perCpu('gateway-baseline')), '')
}
if (micro) {
  addRatio(
    'gateway verify path (fast, no cache) / raw node:crypto verify',
    ratio(micro.gatewayFast, micro.rawVerify),
    '>= 0.50x'
  )
  addRatio('jose jwtVerify / raw node:crypto verify', ratio(micro.joseVerify, micro.rawVerify), '')
  addRatio('gateway verify path (jose) / raw node:crypto verify', ratio(micro.gatewayJose, micro.rawVerify), '')
  addRatio('gateway cache hit / raw node:crypto verify', ratio(micro.gatewayCacheHit, micro.rawVerify), '')
  addRatio('DPoP proof check / gateway verify path (fast, no cache)',
    ratio(micro.dpopProofCheck, micro.gatewayFast), '')
}
if (refresh) addRatio('refreshes/s / raw RSA-2048 signs/s', ratio(refresh.refreshesPerS, refresh.signsPerS), '')

console.log('\nRatios')
console.log(formatTable(['', 'ratio', 'target'], ratioRows))
console.log('\nTargets (same upstream, same client)')
const TARGET_COLUMNS = ['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU s', 'req/CPU-s', 'RSS MB', 'non-2xx', 'errors']
console.log(formatTable(TARGET_COLUMNS, rows.map((r) => [
  r.target, r.load.requestsPerSecond, r.load.latency.p50, r.load.latency.p99, r.cpuS ?? NaN,
  r.cpuS ? r.load.total / r.cpuS : NaN, r.rssMb ?? NaN, String(r.load.non2xx), String(r.load.errors),
])))
for (const r of rows) console.log(`  ${r.target}: ${DESCRIPTIONS[r.target]}`)
const exported = rows.find((r) => r.target === 'gateway-trace-export')
if (otlp && exported) {
  const traces = new Set(otlp.spans.map((x) => x.traceId)).size
  results.otlp = { spans: otlp.spans.length, traces, exports: otlp.bodies.length }
  console.log(`  the OTLP receiver got ${otlp.spans.length} spans of ${traces} traces in ${otlp.bodies.length} ` +
    `exports, for ${exported.load.total} measured requests (and the warm-up's; the last batch is lost at exit)`)
}
if (micro) {
  console.log('\nMicro-figures (per CPU-second of one process)')
  console.log(formatTable(['operation', 'per CPU-s'], [
    ['raw node:crypto RS256 verify', micro.rawVerify as number],
    ['jose jwtVerify (WebCrypto)', micro.joseVerify as number],
    ['gateway authenticate(), fast path, no cache', micro.gatewayFast as number],
    ['gateway authenticate(), jose, no cache', micro.gatewayJose as number],
    ['gateway authenticate(), cache hit', micro.gatewayCacheHit as number],
    ['DPoP proof check (ES256, + one Redis SET NX per request)', micro.dpopProofCheck as number],
    ...(refresh
      ? [
          ['auth refreshes (refresh.ts, per wall-clock s)', refresh.refreshesPerS],
          ['raw RSA-2048 signs (refresh.ts, per wall-clock s)', refresh.signsPerS],
        ] as Array<[string, number]>
      : []),
  ]))
}
if (rev) {
  console.log(`\nRevocation propagation (ZADD+PUBLISH -> first 401, ${rev.samples} sessions): ` +
    `p50 ${fmt(rev.p50)} ms, p99 ${fmt(rev.p99)} ms`)
}
for (const r of rssCache ?? []) {
  const how = r.nodeOptions ? `as npm start runs it, ${r.nodeOptions}` : 'V8 defaults'
  console.log(`Gateway RSS with ${r.entries} cached tokens (${how}): ${fmt(r.afterMb ?? NaN)} MB ` +
    `(empty cache, same process: ${fmt(r.beforeMb ?? NaN)} MB; target <= 150 MB)`)
  const perEntry = (r.heapAfterMb - r.heapBeforeMb) * 2 ** 20 / Math.max(1, r.entries)
  console.log(`  V8 heap used after a full GC: ${fmt(r.heapBeforeMb)} MB empty -> ${fmt(r.heapAfterMb)} MB full ` +
    `= ${fmt(perEntry)} bytes per entry`)
}

results.targets = rows
results.ratios = Object.fromEntries(ratioRows.map(([k, v]) => [k, v]))
mkdirSync(`${root}bench-results`, { recursive: true })
const file = `${root}bench-results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
writeFileSync(file, JSON.stringify(results, null, 2))
console.log(`\nraw results: ${file.slice(root.length)}`)

// ---- helpers that need the running pieces ---------------------------------------------------
async function revocationLag (url: string, samples: number): Promise<{ p50: number, p99: number, samples: number }> {
  process.stderr.write(`revocation propagation (${samples} sessions)...\n`)
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const lags: number[] = []
  try {
    for (let i = 0; i < samples; i++) {
      const sid = `rev-${randomUUID()}`
      const token = makeToken(`rev-user-${i}`, sid)
      const auth = { authorization: `Bearer ${token}` }
      if (await get(`${url}/api/orders`, auth, agent) !== 200) {
        throw new Error('revocation probe: token refused before revocation')
      }
      const until = Date.now() + 60_000
      const start = performance.now()
      await redis.zadd(REVOCATION.sessionsKey('bench:'), until, sid)
      await redis.publish(REVOCATION.channel('bench:'), JSON.stringify({ type: 'session', sid, until }))
      while (await get(`${url}/api/orders`, auth, agent) !== 401) {
        if (performance.now() - start > 5000) throw new Error('revocation did not reach the gateway within 5 s')
      }
      lags.push(performance.now() - start)
    }
  } finally {
    agent.destroy()
    redis.disconnect()
  }
  lags.sort((a, b) => a - b)
  return { p50: percentile(lags, 50), p99: percentile(lags, 99), samples }
}

async function runMicro (seconds: number): Promise<Record<string, number>> {
  return await lastJsonLine('scripts/bench/micro.ts', { BENCH_MICRO_SECONDS: String(seconds) })
}

async function runRefresh (seconds: number): Promise<{ refreshesPerS: number, signsPerS: number }> {
  return await lastJsonLine(
    'scripts/bench/refresh.ts',
    { BENCH_SIGN_SECONDS: String(Math.min(2, seconds)), BENCH_REFRESH_SECONDS: String(seconds) }
  )
}

/** Runs a figures script (pinned to the target core) and parses the JSON line it ends with. */
async function lastJsonLine<T> (script: string, env: Record<string, string>): Promise<T> {
  const child = startChild(script, '0', env, false)
  let out = ''
  child.stdout?.on('data', (d) => { out += String(d) })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`${script} exited ${code}`)
  return JSON.parse(out.trim().split('\n').pop() as string)
}

/** The slices of one target as one result: counts add up, latency is the median of the slices' percentiles. */
function combine (title: string, slices: LoadResult[]): LoadResult {
  const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50)
  const statusCodes: Record<string, number> = {}
  for (const sl of slices) {
    for (const [code, n] of Object.entries(sl.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n
  }
  const total = slices.reduce((a, sl) => a + sl.total, 0)
  const durationS = slices.reduce((a, sl) => a + sl.durationS, 0)
  return {
    title,
    requestsPerSecond: total / durationS,
    total,
    latency: {
      p50: median(slices.map((sl) => sl.latency.p50)),
      p90: median(slices.map((sl) => sl.latency.p90)),
      p99: median(slices.map((sl) => sl.latency.p99)),
      max: Math.max(...slices.map((sl) => sl.latency.max)),
    },
    non2xx: slices.reduce((a, sl) => a + sl.non2xx, 0),
    statusCodes,
    errors: slices.reduce((a, sl) => a + sl.errors, 0),
    timeouts: slices.reduce((a, sl) => a + sl.timeouts, 0),
    durationS,
  }
}
