/**
 * Smoke runs of the benchmark tools, small and short: they must produce their tables and
 * raw JSON. No figure is asserted (the machine may be busy): only that the output is there.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { assertLoopback, formatTable, parseArgs, percentile, ratio } from '../bench/bench-lib.js'
import { REPO_ROOT } from '../testing/node-process.js'

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

t.test('npm run bench -- --duration 1 --targets direct,gateway prints its table', async (t) => {
  const { code, stdout, stderr } = await run([
    'scripts/bench/index.ts',
    '--duration',
    '1',
    '--connections',
    '10',
    '--targets',
    'direct,gateway',
    '--no-micro',
  ])
  t.equal(code, 0, `exits 0 (stderr: ${stderr.slice(-500)})`)
  t.match(stdout, /^target\s+req\/s\s+p50 ms\s+p99 ms\s+CPU s\s+req\/CPU-s\s+RSS MB/m, 'the targets table header')
  t.match(stdout, /^direct\s+\d/m, 'a row for direct')
  t.match(stdout, /^gateway\s+\d/m, 'a row for the full gateway')
  t.match(stdout, /^Ratios$/m)
  t.match(stderr, /gateway \(round 1\/1\): 1\/1 s, \d+ requests/, 'a progress line while it runs')
  const file = /raw results: (\S+)/.exec(stdout)?.[1]
  t.ok(file && existsSync(join(REPO_ROOT, file)), 'raw JSON written')
  if (file) {
    const json = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as {
      targets: Array<{ target: string, load: { total: number, non2xx: number } }>,
    }
    t.same(json.targets.map((x) => x.target), ['direct', 'gateway'])
    for (const x of json.targets) {
      t.ok(x.load.total > 0, `${x.target}: requests were answered`)
      t.equal(x.load.non2xx, 0, `${x.target}: every answer 2xx (the token is accepted, no rate limit)`)
    }
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
})
