/**
 * What `npm run bench` prints, from its measured figures (pure: scripts/test/bench-report.test.ts):
 * the targets and what each one is, the ratios (the issue's targets first: the gateway against
 * the bare Fastify proxy with logging off, HAProxy and the seeds' stack, the cold path against
 * raw node:crypto verify; then the rows that explain them), the machine, the per-target table,
 * the micro-figures, GATEWAY_WORKERS scaling, revocation lag and RSS with 100k cached tokens.
 * Every ratio is requests per CPU-second of the proxy process(es) unless it says otherwise.
 */
import { fmt, formatTable, percentile, ratio, type LoadResult } from './bench-lib.js'
import type { ScalingResult } from './scaling.js'

export const ALL_TARGETS = [
  'direct', 'bare-nolog', 'bare-log', 'haproxy', 'gateway', 'gateway-nolog', 'gateway-noauth', 'gateway-noassert',
  'gateway-assert-sign', 'gateway-cold', 'gateway-dpop', 'gateway-trace-propagate', 'gateway-trace-export', 'seed',
  'gateway-baseline',
] as const
export type Target = typeof ALL_TARGETS[number]
/** Old target names, still accepted. */
export const TARGET_ALIASES: Record<string, Target> = { bare: 'bare-log' }

export const DESCRIPTIONS: Record<Target, string> = {
  direct: 'upstream directly (node:http, small JSON)',
  'bare-nolog': 'THE BASELINE: bare Fastify + @fastify/http-proxy, no auth, logger off',
  'bare-log': 'bare Fastify + @fastify/http-proxy, no auth, Fastify\'s default request logging (2 lines/request)',
  haproxy: 'HAProxy, nbthread 1, jwt_verify RS256 + alg/typ/iss/aud/exp checks, identity headers, no log',
  gateway: 'gateway as it ships: full pipeline, access log on, x-identity-token on (signed once per ' +
    'route+token, then reused from its cache)',
  'gateway-nolog': 'gateway, full pipeline, access log off (LOG_LEVEL=warn)',
  'gateway-noauth': 'gateway, auth off (rule auth none)',
  'gateway-noassert': 'gateway, full pipeline, no x-identity-token (identity: headers)',
  'gateway-assert-sign': 'gateway, full pipeline, x-identity-token signed (ES256) on every request ' +
    '(IDENTITY_ASSERTION_CACHE_MAX=0)',
  'gateway-cold': 'gateway, every token new: an RS256 verify and an assertion signature per request ' +
    '(both caches smaller than the token rotation)',
  'gateway-dpop': 'gateway, a DPoP-bound token (cached) with a fresh ES256 proof per request (+ Redis SET NX)',
  'gateway-trace-propagate': 'gateway, tracing on, propagation only (OTEL_TRACES_EXPORTER=none: non-recording spans)',
  'gateway-trace-export': 'gateway, tracing on, 10 % of traces exported over OTLP/HTTP to a local receiver',
  seed: "seeds' stack: express + jsonwebtoken + http-proxy-middleware",
  'gateway-baseline': 'gateway, full pipeline, built from another checkout (BENCH_BASELINE): a same-run A/B',
}

export interface TargetRow {
  target: Target
  load: LoadResult
  cpuS: number | null
  rssMb: number | null
  /** Busy share of each core over the target's slices (/proc/stat; other tenants included). */
  coreBusy?: number[]
  /** Requests and CPU seconds of each round's slice. */
  rounds?: RoundFigures[]
}
export interface RoundFigures { total: number, cpuS: number }
export interface SkippedTarget { target: Target, reason: string }
export interface MicroFigures {
  rawVerify: number,
  joseVerify: number,
  gatewayFast: number,
  gatewayJose: number,
  gatewayCacheHit: number,
  dpopProofCheck: number,
}
export interface RssFigure {
  nodeOptions: string,
  entries: number,
  beforeMb: number | null,
  afterMb: number | null,
  heapBeforeMb: number,
  heapAfterMb: number,
}
export interface Machine { cpuModel: string, cores: number, node: string, os: string, pinning: string }

export interface ReportData {
  machine: Machine
  rows: TargetRow[]
  skipped: SkippedTarget[]
  micro?: MicroFigures
  refresh?: { refreshesPerS: number, signsPerS: number }
  revocation?: { p50: number, p99: number, samples: number }
  rssCache?: RssFigure[]
  scaling?: ScalingResult[]
}

/** What, the ratio of the totals, its per-round median and quartiles, the target. */
export type RatioRow = [what: string, value: string, rounds: string, target: string]

/**
 * The ratio of two targets' requests per CPU-second round by round (their slices of one round
 * are the closest in time), as "median [q1-q3]": how far a busy machine moved it.
 */
export function roundSpread (a: RoundFigures[] | undefined, b: RoundFigures[] | undefined): string {
  if (!a || !b) return ''
  const ratios: number[] = []
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i] as RoundFigures, b[i] as RoundFigures]
    const v = (x.total / x.cpuS) / (y.total / y.cpuS)
    if (Number.isFinite(v) && v > 0) ratios.push(v)
  }
  if (ratios.length < 3) return ''
  ratios.sort((p, q) => p - q)
  const at = (p: number) => percentile(ratios, p).toFixed(2)
  return `${at(50)} [${at(25)}-${at(75)}]`
}

const perCpuOf = (d: ReportData, t: Target) => {
  const r = d.rows.find((x) => x.target === t)
  return r && r.cpuS ? r.load.total / r.cpuS : null
}

/**
 * The ratios, the four first. A ratio with an unmeasured side is left out; one with a
 * skipped side (HAProxy not installed) says why.
 */
export function ratioRows (d: ReportData): RatioRow[] {
  const out: RatioRow[] = []
  const skipped = (t: Target) => d.skipped.find((s) => s.target === t)?.reason.replace(/ \(.*$/, '')
  const targets = (what: string, a: Target, b: Target, goal = '') => {
    const why = skipped(a) ?? skipped(b)
    const present = (t: Target) => skipped(t) !== undefined || d.rows.some((x) => x.target === t)
    if (why !== undefined && present(a) && present(b)) {
      out.push([what, `${skipped(a) ? a : b}: ${why}`, '', goal])
      return
    }
    const rounds = (t: Target) => d.rows.find((x) => x.target === t)?.rounds
    figures(what, perCpuOf(d, a), perCpuOf(d, b), goal, roundSpread(rounds(a), rounds(b)))
  }
  const figures = (
    what: string, a: number | null | undefined, b: number | null | undefined, goal = '', spread = ''
  ) => {
    const v = ratio(a, b)
    if (v !== '-') out.push([what, v, spread, goal])
  }
  const m = d.micro
  targets('gateway / bare-nolog (the baseline: bare Fastify proxy, logging off)', 'gateway', 'bare-nolog', '>= 1.00x')
  targets('gateway / haproxy (HAProxy + jwt_verify)', 'gateway', 'haproxy', '>= 0.50x (0.70x)')
  targets("gateway / seed (the seeds' express stack)", 'gateway', 'seed', '>= 6x')
  figures('gateway-cold requests / raw node:crypto RS256 verifies', perCpuOf(d, 'gateway-cold'), m?.rawVerify,
    '>= 0.50x')
  targets('gateway-nolog / bare-nolog (both without logs)', 'gateway-nolog', 'bare-nolog')
  targets('bare-log / bare-nolog (what Fastify\'s request logging costs)', 'bare-log', 'bare-nolog')
  targets('haproxy / bare-nolog', 'haproxy', 'bare-nolog')
  targets('gateway / gateway-noauth (auth on / off)', 'gateway', 'gateway-noauth', '>= 0.95x')
  targets('gateway-noassert / gateway (without x-identity-token)', 'gateway-noassert', 'gateway')
  targets('gateway-assert-sign / gateway (assertion signed every request)', 'gateway-assert-sign', 'gateway')
  targets('gateway-dpop / gateway (a DPoP proof every request)', 'gateway-dpop', 'gateway')
  targets('gateway-cold / gateway (every token new)', 'gateway-cold', 'gateway')
  targets('gateway-trace-propagate / gateway (tracing on, propagation only)', 'gateway-trace-propagate', 'gateway')
  targets('gateway-trace-export / gateway (tracing on, 10 % exported)', 'gateway-trace-export', 'gateway')
  const cold = perCpuOf(d, 'gateway-cold')
  const warmRef = perCpuOf(d, 'gateway-assert-sign') ?? perCpuOf(d, 'gateway')
  if (m && cold && warmRef) {
    const addedUs = 1e6 / cold - 1e6 / warmRef
    const ref = perCpuOf(d, 'gateway-assert-sign') ? 'gateway-assert-sign' : 'gateway'
    figures(`one raw verify / what a new token adds (CPU per request, gateway-cold - ${ref})`,
      addedUs > 0 ? 1e6 / m.rawVerify : null, addedUs > 0 ? addedUs : null, '>= 0.50x')
  }
  targets('bare-nolog / direct', 'bare-nolog', 'direct')
  targets('gateway / gateway-baseline (A/B)', 'gateway', 'gateway-baseline')
  if (m) {
    figures('micro: gateway authenticate() (fast, no cache) / raw node:crypto verify', m.gatewayFast, m.rawVerify,
      '>= 0.50x')
    figures('micro: jose jwtVerify / raw node:crypto verify', m.joseVerify, m.rawVerify)
    figures('micro: gateway authenticate() (jose, no cache) / raw node:crypto verify', m.gatewayJose, m.rawVerify)
    figures('micro: gateway cache hit / raw node:crypto verify', m.gatewayCacheHit, m.rawVerify)
    figures('micro: DPoP proof check / gateway authenticate() (fast, no cache)', m.dpopProofCheck, m.gatewayFast)
  }
  if (d.refresh) figures('refreshes/s / raw RSA-2048 signs/s', d.refresh.refreshesPerS, d.refresh.signsPerS)
  const sc = (name: string) => d.scaling?.find((s) => s.name === name)
  const one = sc('1 worker')
  const spread = d.scaling?.find((s) => s.workers === 2 && s.cpus.includes(','))
  const stacked = sc('2 workers, 1 core')
  if (one && spread) {
    figures(`GATEWAY_WORKERS 2 on cores ${spread.cpus} / 1 worker (req/s, wall clock)`,
      spread.load.requestsPerSecond, one.load.requestsPerSecond)
    figures(`GATEWAY_WORKERS 2 on cores ${spread.cpus} / 1 worker (req per CPU-s)`,
      spread.load.total / spread.cpuS, one.load.total / one.cpuS, '', roundSpread(spread.rounds, one.rounds))
  }
  if (one && stacked) {
    figures('GATEWAY_WORKERS 2 on core 0 / 1 worker (req per CPU-s: the cluster\'s cost)',
      stacked.load.total / stacked.cpuS, one.load.total / one.cpuS, '', roundSpread(stacked.rounds, one.rounds))
  }
  return out
}

const TARGET_COLUMNS = ['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU s', 'req/CPU-s', 'CPU µs/req', 'busy',
  'core 0', 'core 1', 'RSS MB', 'non-2xx', 'errors']

export function renderReport (d: ReportData): string {
  const lines: string[] = []
  const ratios = ratioRows(d)
  lines.push('Ratios (requests per CPU-second of the proxy process unless said)')
  lines.push(formatTable(['', 'ratio', 'per round: median [IQR]', 'target'], ratios))
  const mc = d.machine
  lines.push('', `Machine: ${mc.cpuModel}, ${mc.cores} cores, Node ${mc.node}, ${mc.os}; ${mc.pinning}`)
  lines.push('', 'Targets (same upstream, same client)')
  const table = formatTable(TARGET_COLUMNS, d.rows.map((r) => {
    const perCpu = r.cpuS ? r.load.total / r.cpuS : NaN
    return [
      r.target, r.load.requestsPerSecond, r.load.latency.p50, r.load.latency.p99, r.cpuS ?? NaN, perCpu,
      1e6 / perCpu, percent(r.cpuS === null ? NaN : r.cpuS / r.load.durationS), percent(r.coreBusy?.[0]),
      percent(r.coreBusy?.[1]), r.rssMb ?? NaN, String(r.load.non2xx), String(r.load.errors),
    ]
  }))
  lines.push(table)
  lines.push('  (busy: the target\'s CPU time / wall time of its slices; core 0, core 1: the cores\' busy share ' +
    'then, from /proc/stat, everything on the machine included; core 1 runs the load generator and the upstream)')
  const width = Math.max(6, ...d.rows.map((r) => r.target.length))
  for (const s of d.skipped) lines.push(`${s.target.padEnd(width)}  ${s.reason}`)
  for (const r of d.rows) lines.push(`  ${r.target}: ${DESCRIPTIONS[r.target]}`)
  for (const s of d.skipped) lines.push(`  ${s.target}: ${DESCRIPTIONS[s.target]}`)
  const m = d.micro
  if (m) {
    lines.push('', 'Micro-figures (per CPU-second of one process)')
    lines.push(formatTable(['operation', 'per CPU-s'], [
      ['raw node:crypto RS256 verify', m.rawVerify],
      ['jose jwtVerify (WebCrypto)', m.joseVerify],
      ['gateway authenticate(), fast path, no cache', m.gatewayFast],
      ['gateway authenticate(), jose, no cache', m.gatewayJose],
      ['gateway authenticate(), cache hit', m.gatewayCacheHit],
      ['DPoP proof check (ES256; its Redis SET NX not included)', m.dpopProofCheck],
      ...(d.refresh
        ? [
            ['auth refreshes (refresh.ts, per wall-clock s)', d.refresh.refreshesPerS],
            ['raw RSA-2048 signs (refresh.ts, per wall-clock s)', d.refresh.signsPerS],
          ] as Array<[string, number]>
        : []),
    ]))
  }
  if (d.scaling) lines.push('', ...renderScaling(d.scaling))
  const rev = d.revocation
  if (rev) {
    lines.push('', `Revocation propagation (ZADD+PUBLISH -> first 401, ${rev.samples} sessions): ` +
      `p50 ${fmt(rev.p50)} ms, p99 ${fmt(rev.p99)} ms`)
  }
  for (const r of d.rssCache ?? []) {
    const how = r.nodeOptions ? `as npm start runs it, ${r.nodeOptions}` : 'V8 defaults'
    lines.push(`Gateway RSS with ${r.entries} cached tokens (${how}): ${fmt(r.afterMb ?? NaN)} MB ` +
      `(empty cache, same process: ${fmt(r.beforeMb ?? NaN)} MB; target <= 150 MB)`)
    const perEntry = (r.heapAfterMb - r.heapBeforeMb) * 2 ** 20 / Math.max(1, r.entries)
    lines.push(`  V8 heap used after a full GC: ${fmt(r.heapBeforeMb)} MB empty -> ${fmt(r.heapAfterMb)} MB full ` +
      `= ${fmt(perEntry)} bytes per entry`)
  }
  return lines.join('\n')
}

const percent = (v: number | undefined) => v !== undefined && Number.isFinite(v) ? `${Math.round(v * 100)} %` : '-'

export function renderScaling (scaling: ScalingResult[]): string[] {
  const cores = Math.max(0, ...scaling.map((s) => s.coreBusy.length))
  const busy = Array.from({ length: cores }, (_, i) => `core ${i} busy`)
  const header = ['GATEWAY_WORKERS', 'cpus', 'req/s', 'p99 ms', 'CPU s', 'req/CPU-s', 'switches/req', 'RSS MB',
    ...busy, 'load gen CPU s', 'upstream CPU s']
  const rows = scaling.map((s) => [
    s.name, s.cpus || '-', s.load.requestsPerSecond, s.load.latency.p99, s.cpuS, s.load.total / s.cpuS,
    s.switchesPerRequest, s.rssMb ?? NaN, ...Array.from({ length: cores }, (_, i) => percent(s.coreBusy[i])),
    s.loadGeneratorCpuS, s.upstreamCpuS,
  ])
  const seconds = scaling[0]?.load.durationS
  return [
    'GATEWAY_WORKERS scaling (npm start\'s gateway, dist/gateway/server.js; CPU of the primary and its ' +
      `workers; ${fmt(seconds ?? NaN)} s each; load generator and upstream on core 1)`,
    formatTable(header, rows),
    ...scaling.map((s) => `  ${s.name}: ${s.note}; ${s.processes} processes` +
      (s.workers > 1 ? ` (the primary's own CPU: ${fmt(s.primaryCpuS)} s)` : '') +
      `; ${s.load.non2xx} non-2xx, ${s.load.errors} errors`),
  ]
}
