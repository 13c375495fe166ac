/**
 * `npm run bench [-- --duration 5 --connections 50 --targets a,b --no-micro --scaling --install-haproxy]`:
 * one run, side by side, same upstream, same client (autocannon), each target its own process
 * pinned to core 0 (taskset, when there are 2+ cores) while this process (the load) and the
 * upstream sit on core 1. All targets run at once but take turns under load, in 1 s slices.
 * Per target: req/s, p50/p99, CPU seconds of the target over its slices (/proc utime+stime)
 * and requests per CPU-second, RSS. The baseline of every ratio is `bare-nolog` (bare Fastify
 * + @fastify/http-proxy, logger off); HAProxy (jwt_verify, haproxy.ts) when installed, or
 * installed on request (--install-haproxy, BENCH_INSTALL=haproxy). Then the micro-figures
 * (verifications/s, refreshes/s, revocation propagation), the RSS with 100k cached tokens
 * and, with --scaling (BENCH_SCALING=1), GATEWAY_WORKERS 1 vs 2 (scaling.ts). Prints ratios
 * first (report.ts); writes the raw JSON to bench-results/. Bounded: a few seconds per
 * target, loopback only, a private redis-server, every child stopped at the end.
 * BENCH_PROFILE_DIR=dir: a CPU profile of each node target over its measured window (the
 * profiler costs CPU too: do not compare figures of a profiled run).
 * BENCH_BASELINE=<checkout>/dist/bench/target.js: another build as 'gateway-baseline' (A/B).
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { availableParallelism, cpus, release, tmpdir, type } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { GATEWAY_BUNDLE, bundle } from '../start/bundle.js'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, REVOCATION } from '../../auth-service/src/contract.js'
import { startRedisServer } from '../local-redis/redis-server.js'
import { startOtlpReceiver } from '../testing/otlp.js'
import { freePort } from '../local-redis/ports.js'
import {
  addCoreTimes, busyShares, combineSlices, coreTimes, cpuSeconds, parseArgs, percentile, positiveNumber, rssMb,
  runLoad, type LoadOptions, type LoadResult,
} from './bench-lib.js'
import { findHaproxy, haproxyConfig } from './haproxy.js'
import {
  ALL_TARGETS, TARGET_ALIASES, renderReport, ratioRows, type MicroFigures, type ReportData, type RssFigure,
  type SkippedTarget, type Target, type TargetRow,
} from './report.js'
import { createRunner, get, message, waitFor, waitReady } from './runner.js'
import { runScaling, scalingCases, type ScalingResult } from './scaling.js'
import { createDpopProver, createTokenKit } from './tokens.js'

/** A compiled dist/bench/target.js of another checkout, run as the 'gateway-baseline' target. */
const BASELINE = process.env.BENCH_BASELINE

const root = fileURLToPath(new URL('../../', import.meta.url))
const TARGET = { entry: 'scripts/bench/target.ts', outfile: 'dist/bench/target.js' }
const args = parseArgs(process.argv.slice(2))
const duration = positiveNumber(args, 'duration', 5)
const connections = Math.round(positiveNumber(args, 'connections', 50))
const withMicro = !args.has('no-micro')
const withScaling = args.has('scaling') || process.env.BENCH_SCALING === '1'
const installHaproxy = args.has('install-haproxy') ||
  (process.env.BENCH_INSTALL ?? '').split(',').map((s) => s.trim()).includes('haproxy')
const DEFAULT_TARGETS = ALL_TARGETS.filter((t) => t !== 'gateway-baseline' || BASELINE !== undefined)
const targets = (args.get('targets') ?? DEFAULT_TARGETS.join(',')).split(',')
  .map((s) => s.trim()).filter(Boolean).map((t) => {
    const alias = TARGET_ALIASES[t]
    if (alias !== undefined && process.env.BENCH_PINNED !== '1') {
      console.error(`note: target "${t}" is now "${alias}"; the ratios' baseline is "bare-nolog" (logger off)`)
    }
    return alias ?? t
  }) as Target[]
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
    '-c', '1', process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2),
  ], {
    stdio: 'inherit', cwd: root, env: { ...process.env, BENCH_PINNED: '1', BENCH_CORES: String(cores) },
  })
  process.exit(r.status ?? 1)
}

const runner = createRunner({ root, pin, target: TARGET })
process.once('SIGINT', () => { runner.stopAll(); process.exit(130) })

const tokens = createTokenKit()
const work = mkdtempSync(join(tmpdir(), 'jwt-edge-bench-'))
const publicKeyPath = join(work, 'access-token-public.pem')
writeFileSync(publicKeyPath, tokens.publicKeyPem)

const pinning = pin ? 'targets pinned to core 0, load + upstream to core 1' : 'no pinning (taskset missing or 1 core)'
const machine = {
  cpuModel: cpus()[0]?.model?.trim() ?? '?', cores, node: process.version, os: `${type()} ${release()}`, pinning,
}
console.log(`bench: ${duration} s per target, ${connections} connections, targets: ${targets.join(', ')}` +
  (withScaling ? ', + GATEWAY_WORKERS scaling' : ''))
console.log(`machine: ${cores} cores (${machine.cpuModel}), Node ${process.version}, ${pinning}`)

await bundle(root, TARGET.entry, TARGET.outfile)
const redisServer = await startRedisServer()
const results: Record<string, unknown> = {
  startedAt: new Date().toISOString(), duration, connections, node: process.version, cores, pinned: pin, machine,
}
const rows: TargetRow[] = []
const skipped: SkippedTarget[] = []
let scaling: ScalingResult[] | undefined
// The exporting target's spans go to a receiver in this process, which counts them.
const otlp = targets.includes('gateway-trace-export') ? await startOtlpReceiver() : undefined
try {
  const upstream = await runner.startTarget('upstream', '1', { BENCH_JWKS: tokens.jwks })
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
    GATEWAY_KEYS_DIR: join(work, 'gateway-keys'),
    LOG_LEVEL: 'info',
    // The gateway runs with the node flags npm start and the image give it.
    NODE_OPTIONS: GATEWAY_BUNDLE.nodeArgs.join(' '),
  }
  const warmTokens = Array.from({ length: connections }, (_, i) => tokens.makeToken(`bench-user-${i}`))
  const warmClient: NonNullable<LoadOptions['setupClient']> = (() => {
    let clientIndex = 0
    return (client) => client.setHeaders({ authorization: `Bearer ${warmTokens[(clientIndex++) % warmTokens.length]}` })
  })()
  let coldTokens: string[] = []
  if (targets.includes('gateway-cold')) {
    const count = Math.min(4000, Math.max(600, Math.round(duration * 600)))
    process.stderr.write(`signing ${count} distinct tokens for the cold run...\n`)
    coldTokens = Array.from({ length: count }, (_, i) => tokens.makeToken(`cold-user-${i}`))
  }
  // Cold: the caches hold fewer entries than the rotation, oldest out first, so every token misses.
  const coldMax = process.env.BENCH_COLD_CACHE_MAX ?? String(Math.floor(coldTokens.length / 4))
  const provers = targets.includes('gateway-dpop') ? Array.from({ length: connections }, createDpopProver) : []
  const dpopTokens = provers.map((p, i) => tokens.makeToken(`dpop-user-${i}`, { claims: { cnf: { jkt: p.jkt } } }))
  const GATEWAY_VARIANTS: Partial<Record<Target, Record<string, string>>> = {
    gateway: {},
    'gateway-nolog': { LOG_LEVEL: 'warn' },
    'gateway-noassert': { BENCH_IDENTITY: 'headers' },
    'gateway-assert-sign': { IDENTITY_ASSERTION_CACHE_MAX: '0' },
    'gateway-cold': { TOKEN_CACHE_MAX: coldMax, IDENTITY_ASSERTION_CACHE_MAX: coldMax },
    'gateway-dpop': {},
    'gateway-trace-propagate': { OTEL_TRACES_EXPORTER: 'none' },
    'gateway-trace-export': {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp?.url ?? '', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1',
    },
  }

  // Every target is started and warmed up first; then they take turns in 1 s slices
  // (round robin, `duration` rounds), so a machine that gets busier or quieter during the
  // run affects them alike. Requests and CPU seconds add up over the slices; latency is the
  // median over the slices of each slice's percentile.
  interface Running {
    target: Target,
    child: ChildProcess,
    url: string,
    load: Omit<LoadOptions, 'title' | 'duration'>,
    slices: LoadResult[],
    cpuS: number,
    sliceCpuS: number[],
    busy: Array<[number, number]>,
  }
  const running: Running[] = []
  for (const target of targets) {
    let url: string
    let child: ChildProcess
    if (target === 'direct') {
      ({ child, url } = await runner.startTarget('upstream', '0', { BENCH_JWKS: tokens.jwks }))
    } else if (target === 'bare-nolog' || target === 'bare-log') {
      ({ child, url } = await runner.startTarget(target, '0', { BENCH_UPSTREAM: upstream.url }))
    } else if (target === 'haproxy') {
      const found = findHaproxy({
        bin: process.env.BENCH_HAPROXY, install: installHaproxy, log: (l) => process.stderr.write(`${l}\n`),
      })
      if ('missing' in found) {
        skipped.push({ target, reason: found.missing })
        process.stderr.write(`haproxy: ${found.missing}\n`)
        continue
      }
      const port = await freePort()
      const config = haproxyConfig({
        port, upstream: upstream.url, publicKeyPath, issuer: DEFAULT_ISSUER, audience: DEFAULT_AUDIENCE,
      })
      const configPath = join(work, 'haproxy.cfg')
      writeFileSync(configPath, config)
      results.haproxy = { version: found.version.version, bin: found.bin, config }
      child = runner.startProcess([found.bin, '-f', configPath, '-db'], { core: '0' })
      url = `http://127.0.0.1:${port}`
      await waitFor(`${url}/api/orders`, { authorization: `Bearer ${warmTokens[0]}` })
    } else if (target === 'seed') {
      ({ child, url } = await runner.startTarget(
        'seed', '0', { BENCH_UPSTREAM: upstream.url, BENCH_PUBLIC_PEM: tokens.publicKeyPem }
      ))
    } else if (target === 'gateway-baseline') {
      if (BASELINE === undefined) throw new Error('gateway-baseline needs BENCH_BASELINE (a compiled target.js)')
      ;({ child, url } = await runner.startTarget('gateway', '0', gatewayEnv, BASELINE))
      await waitReady(url)
    } else {
      const kind = target === 'gateway-noauth' ? 'gateway-noauth' : 'gateway'
      ;({ child, url } = await runner.startTarget(kind, '0', { ...gatewayEnv, ...GATEWAY_VARIANTS[target] }))
      await waitReady(url)
    }
    const path = target === 'direct' ? '/orders' : '/api/orders'
    const load = { url: `${url}${path}`, connections, ...loadFor(target, `${url}${path}`) }
    const warm = await runLoad({ ...load, title: `${target} warm-up`, duration: 1 }, true)
    if (warm.total === 0 || warm.non2xx > 0) {
      process.stderr.write(`warning: ${target} warm-up: ${warm.total} answers, ${warm.non2xx} non-2xx ` +
        `(${JSON.stringify(warm.statusCodes)}): its figures are not of the path it names\n`)
    }
    running.push({ target, child, url, load, slices: [], cpuS: 0, sliceCpuS: [], busy: [] })
  }

  function loadFor (target: Target, url: string): Partial<LoadOptions> {
    type Req = { headers?: Record<string, string> }
    if (target === 'gateway-cold') {
      let n = 0
      return {
        requests: [{
          setupRequest: (req: Req) => {
            const token = coldTokens[(n++) % coldTokens.length]
            return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } }
          },
        }],
      }
    }
    if (target === 'gateway-dpop') {
      // A new proof for every request (fresh jti and iat), made here: the proof's cost to
      // the client is the load generator's, not the gateway's.
      let n = 0
      return {
        requests: [{
          setupRequest: (req: Req) => {
            const i = (n++) % provers.length
            const token = dpopTokens[i] as string
            const dpop = (provers[i] as typeof provers[number]).proof('GET', url, token)
            return { ...req, headers: { ...req.headers, authorization: `DPoP ${token}`, dpop } }
          },
        }],
      }
    }
    return { setupClient: warmClient }
  }

  const profileDir = process.env.BENCH_PROFILE_DIR
  const profiled = running.filter((r) => r.target !== 'direct' && r.child.connected)
  if (profileDir) {
    for (const r of profiled) {
      r.child.send({ profile: 'start' })
      await message(r.child, (m) => m?.profiling)
    }
  }
  const rounds = Math.max(1, Math.round(duration))
  const slice = duration / rounds
  for (let round = 1; round <= rounds; round++) {
    for (const r of running) {
      const cpu0 = cpuSeconds(r.child.pid as number)
      const cores0 = coreTimes()
      r.slices.push(
        await runLoad({ ...r.load, title: `${r.target} (round ${round}/${rounds})`, duration: slice }, true)
      )
      addCoreTimes(r.busy, cores0, coreTimes())
      const cpu1 = cpuSeconds(r.child.pid as number)
      r.sliceCpuS.push(cpu0 === null || cpu1 === null ? NaN : cpu1 - cpu0)
      r.cpuS += r.sliceCpuS.at(-1) as number
    }
  }
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true })
    for (const r of profiled) {
      r.child.send({ profile: 'stop', file: `${profileDir}/${r.target}.cpuprofile` })
      await message(r.child, (m) => m?.profiled)
    }
  }
  for (const r of running) {
    rows.push({
      target: r.target,
      load: combineSlices(r.target, r.slices),
      cpuS: Number.isNaN(r.cpuS) ? null : r.cpuS,
      rssMb: rssMb(r.child.pid as number),
      coreBusy: busyShares(r.busy),
      rounds: r.slices.map((sl, i) => ({ total: sl.total, cpuS: r.sliceCpuS[i] as number })),
    })
    if (r.target === 'gateway' && withMicro) {
      results.revocation = await revocationLag(r.url, Math.max(10, Math.min(50, Math.round(duration * 10))))
    }
    await runner.stopChild(r.child)
  }

  if (withScaling) {
    await bundle(root, GATEWAY_BUNDLE.entry, GATEWAY_BUNDLE.outfile)
    scaling = await runScaling({
      runner,
      cases: scalingCases(cores, pin),
      serverFile: GATEWAY_BUNDLE.outfile,
      env: gatewayEnv,
      upstream: upstream.child,
      connections,
      duration,
      setupClient: warmClient,
    })
  }

  if (withMicro && (targets.includes('gateway') || targets.includes('gateway-cold'))) {
    // As npm start runs the gateway (its node flags), then with V8's defaults.
    const rss: RssFigure[] = []
    for (const nodeOptions of [GATEWAY_BUNDLE.nodeArgs.join(' '), '']) {
      process.stderr.write(`RSS with 100k cached tokens (${nodeOptions || 'V8 defaults'})...\n`)
      const { child, url } = await runner.startTarget(
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
      await runner.stopChild(child)
    }
    results.rssCache = rss
  }

  if (withMicro) {
    process.stderr.write('micro-figures: verifications per second...\n')
    results.micro = await lastJsonLine('scripts/bench/micro.ts',
      { BENCH_MICRO_SECONDS: String(Math.max(1, Math.min(3, duration / 2))) })
    process.stderr.write('micro-figures: refreshes per second (scripts/bench/refresh.ts)...\n')
    const seconds = Math.max(1, Math.min(4, duration))
    results.refresh = await lastJsonLine('scripts/bench/refresh.ts',
      { BENCH_SIGN_SECONDS: String(Math.min(2, seconds)), BENCH_REFRESH_SECONDS: String(seconds) })
  }
  upstream.child.kill('SIGKILL')
} finally {
  runner.stopAll()
  await redisServer.stop({ removeDir: true })
  rmSync(work, { recursive: true, force: true })
  await otlp?.close()
}

// ---- report -------------------------------------------------------------------------------
const report: ReportData = {
  machine,
  rows,
  skipped,
  micro: results.micro as MicroFigures | undefined,
  refresh: results.refresh as ReportData['refresh'],
  revocation: results.revocation as ReportData['revocation'],
  rssCache: results.rssCache as RssFigure[] | undefined,
  scaling,
}
console.log(`\n${renderReport(report)}`)
if (results.haproxy) console.log(`HAProxy: ${(results.haproxy as { version: string }).version}`)
const exported = rows.find((r) => r.target === 'gateway-trace-export')
if (otlp && exported) {
  const traces = new Set(otlp.spans.map((x) => x.traceId)).size
  results.otlp = { spans: otlp.spans.length, traces, exports: otlp.bodies.length }
  console.log(`the OTLP receiver got ${otlp.spans.length} spans of ${traces} traces in ${otlp.bodies.length} ` +
    `exports, for ${exported.load.total} measured requests (and the warm-up's; the last batch is lost at exit)`)
}

results.targets = rows
results.skipped = skipped
results.scaling = scaling
results.ratios = Object.fromEntries(ratioRows(report).map(([k, value, rounds, goal]) => [k, { value, rounds, goal }]))
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
      const token = tokens.makeToken(`rev-user-${i}`, { sid })
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

/** Runs a figures script (pinned to the target core) and parses the JSON line it ends with. */
async function lastJsonLine<T> (script: string, env: Record<string, string>): Promise<T> {
  const child = runner.startNode(script, { core: '0', env, stdout: 'pipe' })
  let out = ''
  child.stdout?.on('data', (d) => { out += String(d) })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`${script} exited ${code}`)
  return JSON.parse(out.trim().split('\n').pop() as string)
}
