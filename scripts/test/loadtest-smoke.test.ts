/**
 * `npm run loadtest` against a whole stack started as the README says (npm start with raised
 * rate limits), small and short: every scenario gets its row, the login-storm comparison is
 * printed, no warning (429s, bogus tokens answered other than 401), raw JSON written. No
 * figure is asserted.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { LoadResult } from '../bench/bench-lib.js'
import { freePort } from '../testing/ports.js'
import { STACK } from '../start/stack.js'
import { useTestRedis } from '../testing/redis.js'
import { REPO_ROOT } from '../testing/node-process.js'

import { sleep } from '../testing/wait.js'

t.test('npm run loadtest -- --duration 1 against a running stack', async (t) => {
  const redis = await useTestRedis(t)
  const keysDir = mkdtempSync(join(tmpdir(), 'jwt-edge-loadtest-keys-'))
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    KEYS_DIR: keysDir,
    RATE_LIMIT_AUTH: '1000000',
    RATE_LIMIT_API: '1000000',
    LOG_LEVEL: 'warn',
  }
  for (const entry of STACK) {
    env[entry.portVar] = String(await freePort())
    delete env[entry.hostVar]
    if (entry.urlVar) delete env[entry.urlVar]
  }
  for (const name of ['JWKS_URL', 'REFRESH_TOKEN_SECRET', 'CSRF_SECRET', 'GATEWAY_WORKERS']) delete env[name]

  const stack = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/start/main.ts'],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  const lines: string[] = []
  for (const stream of [stack.stdout, stack.stderr]) createInterface({ input: stream }).on('line', (l) => lines.push(l))
  const exited = new Promise((resolve) => stack.once('exit', resolve))
  t.teardown(async () => {
    if (stack.exitCode === null) {
      stack.kill('SIGINT')
      await Promise.race([exited, sleep(20_000)])
    }
  })
  const deadline = Date.now() + 120_000
  const starting = () => !lines.some((l) => l.includes('jwt-edge is up at')) && stack.exitCode === null
  while (starting() && Date.now() < deadline) await sleep(200)
  t.ok(lines.some((l) => l.includes('jwt-edge is up at')), 'the stack is up')

  const child = spawn(process.execPath, [
    '--import',
    'tsx',
    'scripts/bench/loadtest.ts',
    '--duration',
    '1',
    '--connections',
    '4',
  ], {
    cwd: REPO_ROOT, env: { ...process.env, GATEWAY_URL: `http://127.0.0.1:${env.GATEWAY_PORT}` }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += String(d) })
  child.stderr.on('data', (d) => { stderr += String(d) })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  t.equal(code, 0, `exits 0 (stderr: ${stderr.slice(-500)})`)
  t.match(stderr, /registering 4 users/)
  t.match(stderr, /reads: 1\/1 s, \d+ requests/, 'a progress line while it runs')
  t.match(stdout, /^scenario\s+req\/s\s+p50 ms\s+p90 ms\s+p99 ms\s+2xx\s+non-2xx\s+of which 429\s+errors$/m, 'one table')
  for (
    const row of [
      'protected reads',
      'mixed reads and writes',
      'refresh storm',
      'login storm',
      'bogus-token flood',
      'reads \\(during login storm\\)',
    ]
  ) {
    t.match(stdout, new RegExp(`^${row}.*\\s\\d+\\s+\\d+\\s+\\d+\\s+\\d+$`, 'm'), `a row for ${row.replace(/\\/g, '')}`)
  }
  t.match(stdout, /protected-read p99: alone [\d.]+ ms, during a login storm [\d.]+ ms -> [\d.]+x/)
  t.notMatch(stdout, /WARNING/, 'no 429s with raised limits, no bogus token answered other than 401')
  t.match(stdout, /bogus-token flood: its non-2xx are the expected 401s/)
  const bogus = /^bogus-token flood.*\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(stdout)
  t.equal(bogus?.[1], '0', 'no bogus token got through')
  const file = /raw results: (\S+)/.exec(stdout)?.[1]
  t.ok(file && existsSync(join(REPO_ROOT, file)), 'raw JSON written')
  if (file) {
    const json = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as {
      scenarios: Array<{ scenario: string, result: LoadResult }>,
    }
    t.equal(json.scenarios.length, 7, 'six scenarios, the login storm in the background counted too')
    const flood = json.scenarios.find((x) => x.scenario === 'bogus')?.result
    t.same(Object.keys(flood?.statusCodes ?? {}), ['401'], 'the bogus-token flood got 401s and nothing else')
    t.ok((flood?.statusCodes['401'] ?? 0) > 0)
    rmSync(join(REPO_ROOT, file))
  }
})
