/**
 * Smoke runs of the benchmark tools, small and short: they must produce their tables and
 * raw JSON. No figure is asserted (the machine may be busy): only that the output is there.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  addCoreTimes, assertLoopback, busyShares, combineSlices, coreTimes, formatTable, parseArgs, percentile, processTree,
  ratio, treeCpuSeconds,
} from '../bench/bench-lib.js'
import { REPO_ROOT } from '../testing/node-process.js'

// The bench runs real processes on a machine that may be busy: more than .taprc's 120 s per file.
t.setTimeout(300_000)

interface RunResult { code: number | null, stdout: string, stderr: string }

async function run (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...args],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += String(d) })
  child.stderr.on('data', (d) => { stderr += String(d) })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stdout, stderr }
}

t.test('npm run bench -- --duration 1 --targets direct,bare-nolog,gateway,gateway-dpop,haproxy --scaling',
  async (t) => {
    const { code, stdout, stderr } = await run([
      'scripts/bench/index.ts',
      '--duration',
      '1',
      '--connections',
      '10',
      '--targets',
      'direct,bare-nolog,gateway,gateway-dpop,haproxy',
      '--no-micro',
      '--scaling',
    ], { BENCH_HAPROXY: '/nonexistent/haproxy' }) // the same output on every machine: HAProxy "not installed"
    t.equal(code, 0, `exits 0 (stderr: ${stderr.slice(-500)})`)
    t.match(stdout, /^Ratios \(requests per CPU-second/m)
    t.ok(stdout.indexOf('Ratios') < stdout.indexOf('Targets ('), 'ratios first')
    t.match(stdout, /^gateway \/ bare-nolog \(the baseline: bare Fastify proxy, logging off\)\s+\d+\.\d+x/m)
    t.match(stdout, /^gateway \/ haproxy \(HAProxy \+ jwt_verify\)\s+haproxy: not installed/m)
    t.match(stdout, /^Machine: .+, \d+ cores, Node v\d+/m, 'the machine described')
    t.match(
      stdout,
      /^target\s+req\/s\s+p50 ms\s+p99 ms\s+CPU s\s+req\/CPU-s\s+CPU µs\/req\s+busy\s+core 0\s+core 1\s+RSS MB/m,
      'the targets table header'
    )
    for (const target of ['direct', 'bare-nolog', 'gateway', 'gateway-dpop']) {
      t.match(stdout, new RegExp(`^${target}\\s+\\d`, 'm'), `a row for ${target}`)
    }
    t.match(stdout, /^haproxy\s+not installed \(.*--install-haproxy/m, 'the HAProxy row says why it is empty')
    t.match(stderr, /gateway \(round 1\/1\): 1\/1 s, \d+ requests/, 'a progress line while it runs')
    t.same(stderr.split('\n').filter((l) => l.startsWith('warning:')), [], 'every target answered 2xx when warmed up')
    t.match(stdout, /^GATEWAY_WORKERS scaling/m)
    t.match(stdout, /^1 worker\s+\S+\s+\d/m)
    t.match(stdout, /^2 workers, 2 cores\s+\S+\s+\d/m)
    t.match(stdout, /2 workers, 1 core: .*; 3 processes .*; 0 non-2xx, 0 errors/, 'a primary and two workers, all 2xx')
    const file = /raw results: (\S+)/.exec(stdout)?.[1]
    t.ok(file && existsSync(join(REPO_ROOT, file)), 'raw JSON written')
    if (file) {
      const json = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as {
        targets: Array<{ target: string, load: { total: number, non2xx: number } }>,
        skipped: Array<{ target: string, reason: string }>,
        machine: { cpuModel: string, cores: number, node: string },
        ratios: Record<string, { value: string }>,
      }
      t.same(json.targets.map((x) => x.target), ['direct', 'bare-nolog', 'gateway', 'gateway-dpop'])
      for (const x of json.targets) {
        t.ok(x.load.total > 0, `${x.target}: requests were answered`)
        t.equal(x.load.non2xx, 0, `${x.target}: every answer 2xx (the token and the DPoP proofs accepted, no limit)`)
      }
      t.same(json.skipped.map((x) => x.target), ['haproxy'])
      t.equal(json.machine.node, process.version)
      t.match(json.ratios['gateway / bare-nolog (the baseline: bare Fastify proxy, logging off)']?.value, /^\d/)
      rmSync(join(REPO_ROOT, file))
    }
  })

t.test('npm run bench:refresh ends with its figures as one JSON line (npm run bench reads that)', async (t) => {
  const { code, stdout, stderr } = await run(
    ['scripts/bench/refresh.ts'],
    { BENCH_SIGN_SECONDS: '0.2', BENCH_REFRESH_SECONDS: '0.3' }
  )
  t.equal(code, 0, `exits 0 (stderr: ${stderr.slice(-500)})`)
  t.match(stdout, /^refreshes\/s \(one core\):\s+\d+$/m, 'the figures for people')
  const figures = JSON.parse(stdout.trim().split('\n').pop()!)
  for (const name of ['refreshesPerS', 'signsPerS', 'redisRoundTripsPerRefresh']) {
    t.ok(
      figures[name] > 0,
      `${name} in the JSON line`
    )
  }
})

t.test('a bad target name is refused', async (t) => {
  const { code, stderr } = await run(['scripts/bench/index.ts', '--targets', 'nope'])
  t.not(code, 0)
  t.match(stderr, /unknown target "nope"/)
})

t.test('npm run loadtest refuses a non-loopback GATEWAY_URL and a gateway that is not up', async (t) => {
  const remote = await run(['scripts/bench/loadtest.ts', '--duration', '1'], { GATEWAY_URL: 'http://10.9.8.7:8080' })
  t.equal(remote.code, 1)
  t.match(remote.stderr, /refusing to generate load against http:\/\/10\.9\.8\.7:8080/)
  const down = await run(['scripts/bench/loadtest.ts', '--duration', '1'], { GATEWAY_URL: 'http://127.0.0.1:9' })
  t.equal(down.code, 1)
  t.match(down.stderr, /not ready.*\n.*RATE_LIMIT_AUTH=1000000 RATE_LIMIT_API=1000000 npm start/)
})

t.test('bench-lib helpers', async (t) => {
  t.same(
    [...parseArgs(['--duration', '3', '--no-micro', '--targets=a,b'])],
    [['duration', '3'], ['no-micro', 'true'], ['targets', 'a,b']]
  )
  t.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5)
  t.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10)
  t.equal(ratio(3, 2), '1.50x')
  t.equal(ratio(3, 0), '-')
  t.match(formatTable(['a', 'n'], [['x', 1234], ['yy', 1.5]]), /^a {2}\s*n\n-+ {2}-+\nx {3}1234\nyy\s+1\.50$/)
  t.equal(assertLoopback('http://localhost:8080').port, '8080')
  t.equal(assertLoopback('http://[::1]:8080').hostname, '[::1]')
  t.throws(() => assertLoopback('http://example.com'), /refusing/)
  t.throws(() => assertLoopback('http://127.0.0.1.example.com'), /refusing/)
  const acc: Array<[number, number]> = []
  addCoreTimes(acc, new Map([[0, [10, 100]], [1, [0, 100]]]), new Map([[0, [60, 200]], [1, [100, 200]]]))
  addCoreTimes(acc, new Map([[0, [0, 0]], [1, [0, 0]]]), new Map([[0, [50, 100]], [1, [0, 100]]]))
  t.same(busyShares(acc), [0.5, 0.5], 'busy jiffies over all jiffies, summed over the slices')
  const slice = (total: number, p99: number) => ({
    title: 's',
    requestsPerSecond: total,
    total,
    latency: { p50: 1, p90: 2, p99, max: p99 },
    non2xx: 1,
    statusCodes: { 200: total - 1, 401: 1 },
    errors: 0,
    timeouts: 0,
    durationS: 1,
  })
  const combined = combineSlices('x', [slice(100, 5), slice(300, 9), slice(200, 7)])
  t.same([combined.total, combined.requestsPerSecond, combined.latency.p99, combined.latency.max, combined.non2xx],
    [600, 200, 7, 9, 3], 'counts add up, latency is the median of the slices')
  t.same(combined.statusCodes, { 200: 597, 401: 3 })
})

t.test('process tree CPU (GATEWAY_WORKERS: the primary and its workers) and per-core times, from /proc',
  { skip: process.platform === 'linux' ? false : 'Linux /proc only' }, async (t) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' })
    t.teardown(() => { child.kill('SIGKILL') })
    await new Promise((resolve) => child.once('spawn', resolve))
    t.ok(processTree(process.pid).includes(child.pid as number), 'a child is in its parent\'s tree')
    t.ok((treeCpuSeconds(process.pid) ?? 0) > 0)
    t.equal(treeCpuSeconds(2 ** 22 + 1), null, 'a gone process has none')
    t.ok(coreTimes().size >= 1, 'one entry per core')
  })
