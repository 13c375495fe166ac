/**
 * Shared by `npm run bench` and `npm run loadtest`: autocannon runs with a progress line,
 * CPU time and RSS of a process from /proc, percentiles, a plain text table, argument
 * parsing, and the loopback-only rule for anything we point load at.
 */
import { readFileSync, readdirSync } from 'node:fs'
import autocannon from 'autocannon'

const CLOCK_TICKS = 100 // USER_HZ on Linux: /proc/<pid>/stat times are in 1/100 s

/** utime + stime of a process in seconds (Linux /proc); null when unavailable. */
export function cpuSeconds (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the "(comm)" that may contain spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return null
  }
}

/** `pid` and every process below it (node:cluster workers), from /proc/<n>/stat's ppid field. */
export function processTree (pid: number): number[] {
  const parentOf = new Map<number, number>()
  let entries: string[] = []
  try { entries = readdirSync('/proc') } catch { return [pid] }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {} // gone meanwhile
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child)
  }
  return tree
}

/** utime + stime of `pid` and its live descendants, in seconds; null when `pid` is gone. */
export function treeCpuSeconds (pid: number): number | null {
  const own = cpuSeconds(pid)
  if (own === null) return null
  return processTree(pid).slice(1).reduce((sum, p) => sum + (cpuSeconds(p) ?? 0), own)
}

/** Context switches (voluntary + involuntary) of the main threads of `pid` and its descendants; null: none. */
export function treeContextSwitches (pid: number): number | null {
  let sum: number | null = null
  for (const p of processTree(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8')
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) sum = (sum ?? 0) + Number(m[1])
    } catch {} // gone meanwhile
  }
  return sum
}

/** Per-core [busy, total] jiffies from /proc/stat (busy: everything but idle and iowait). */
export function coreTimes (): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>()
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+) (.*)$/.exec(line)
      if (!m) continue
      const v = (m[2] as string).trim().split(/\s+/).map(Number)
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0) // user..steal, not guest (inside user)
      out.set(Number(m[1]), [total - (v[3] ?? 0) - (v[4] ?? 0), total])
    }
  } catch {}
  return out
}

/** Adds the per-core jiffies between two coreTimes() snapshots to `acc` (index = core). */
export function addCoreTimes (
  acc: Array<[number, number]>, before: Map<number, [number, number]>, after: Map<number, [number, number]>
): void {
  for (const [core, [busy, total]] of after) {
    const [b0, t0] = before.get(core) ?? [busy, total]
    const [b, t] = acc[core] ?? [0, 0]
    acc[core] = [b + busy - b0, t + total - t0]
  }
}

/** The busy share of each core in an addCoreTimes() accumulator (other tenants' work included). */
export const busyShares = (acc: Array<[number, number]>): number[] =>
  Array.from(acc, (v) => v && v[1] > 0 ? v[0] / v[1] : NaN)

/** Resident set size in MB (VmRSS); null when unavailable. */
export function rssMb (pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : null
  } catch {
    return null
  }
}

/** RSS of `pid` and its live descendants, in MB; null when `pid` is gone. */
export function treeRssMb (pid: number): number | null {
  const own = rssMb(pid)
  if (own === null) return null
  return processTree(pid).slice(1).reduce((sum, p) => sum + (rssMb(p) ?? 0), own)
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}

export interface LoadResult {
  title: string
  requestsPerSecond: number
  total: number
  latency: { p50: number, p90: number, p99: number, max: number }
  non2xx: number
  statusCodes: Record<string, number>
  errors: number
  timeouts: number
  durationS: number
}

export type LoadOptions = autocannon.Options & { title: string }

/** One autocannon run; prints a progress line (every second) to stderr when `progress`. */
export async function runLoad (opts: LoadOptions, progress = true): Promise<LoadResult> {
  const instance = autocannon(opts)
  let seconds = 0
  let done = 0
  instance.on('tick', (counter: { counter: number }) => {
    seconds++
    done += counter.counter
    if (!progress || seconds > (opts.duration ?? Infinity)) return
    const line = `  ${opts.title}: ${seconds}/${opts.duration ?? '?'} s, ${done} requests, ${counter.counter} req/s`
    // A terminal gets one line rewritten in place; a pipe or file one line per second.
    process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(90)}` : `${line}\n`)
  })
  const r = await instance
  if (progress && process.stderr.isTTY) process.stderr.write(`\r${' '.repeat(90)}\r`)
  const statusCodes: Record<string, number> = {}
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = Number(v.count)
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0)
  return {
    title: opts.title,
    requestsPerSecond: total / r.duration,
    total,
    latency: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    non2xx: r.non2xx,
    statusCodes,
    errors: r.errors,
    timeouts: r.timeouts,
    durationS: r.duration,
  }
}

/** Slices of one target as one result: counts add up, latency is the median of the slices' percentiles. */
export function combineSlices (title: string, slices: LoadResult[]): LoadResult {
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

/** A plain text table: right-aligned numbers, left-aligned text. */
export function formatTable (header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => typeof c === 'number' ? fmt(c) : c))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)))
  const line = (r: Array<string | number>) => r.map((c, i) => {
    const s = String(c ?? '')
    return i === 0 ? s.padEnd(widths[i] as number) : s.padStart(widths[i] as number)
  }).join('  ')
  return [line(cells[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n'
  )
}

export function fmt (n: number): string {
  if (!Number.isFinite(n)) return '-'
  if (Math.abs(n) >= 100) return Math.round(n).toString()
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

export function ratio (a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-'
  return `${(a / b).toFixed(2)}x`
}

/** `--name value` / `--name=value` / `--flag` into a map. */
export function parseArgs (argv: string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (!a.startsWith('--')) continue
    const eq = a.indexOf('=')
    if (eq !== -1) out.set(a.slice(2, eq), a.slice(eq + 1))
    else if (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--')) {
      out.set(
        a.slice(2),
        argv[++i] as string
      )
    } else out.set(a.slice(2), 'true')
  }
  return out
}

export function positiveNumber (args: Map<string, string>, name: string, fallback: number): number {
  const raw = args.get(name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number (got "${raw}")`)
  return n
}

/** Load is only ever pointed at this machine. */
export function assertLoopback (url: string): URL {
  const u = new URL(url)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(
      `refusing to generate load against ${u.origin}: only loopback addresses (127.0.0.0/8, ::1, localhost)`
    )
  }
  return u
}
