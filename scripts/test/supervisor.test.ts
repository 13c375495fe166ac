import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../testing/ports.js'
import {
  Supervisor, backoffDelay, formatPrefix, type ProcessSpec, type SupervisorOptions,
} from '../start/supervisor.js'
import { formatLogLine } from '../start/log-format.js'
import { isAlive } from '../testing/node-process.js'
import { waitFor } from '../testing/wait.js'

const dir = mkdtempSync(join(tmpdir(), 'jwt-edge-supervisor-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/**
 * An HTTP server on PORT: /healthz is 200 after READY_AFTER_MS; prints a plain and a pino line; starts a grandchild.
 */
writeFileSync(join(dir, 'server.mjs'), `
import { createServer } from 'node:http'
import { spawn } from 'node:child_process'
const readyAt = Date.now() + Number(process.env.READY_AFTER_MS ?? 0)
const server = createServer((req, res) => {
  res.statusCode = req.url === '/healthz' && Date.now() >= readyAt ? 200 : 503
  res.end()
})
const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log('hello plain line')
  console.log(
    JSON.stringify({
      level: 30,
      time: Date.now(),
      pid: process.pid,
      hostname: 'h',
      port: Number(process.env.PORT),
      msg: 'listening',
    })
  )
  console.error('helper pid=' + helper.pid)
})
process.on('SIGTERM', () => { console.log('got SIGTERM'); helper.kill(); server.close(() => process.exit(0)) })
`)

/** Exits 1 at once (or after UP_MS), recording each start time in STARTS_FILE. */
writeFileSync(join(dir, 'crash.mjs'), `
import { appendFileSync } from 'node:fs'
appendFileSync(process.env.STARTS_FILE, Date.now() + '\\n')
console.error('boom')
setTimeout(() => process.exit(1), Number(process.env.UP_MS ?? 0))
`)

/** Ignores SIGTERM: only SIGKILL ends it, and it leaves a helper of its own behind unless its group is killed. */
writeFileSync(join(dir, 'stubborn.mjs'), `
import { spawn } from 'node:child_process'
const helper = spawn(
  process.execPath,
  ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'],
  { stdio: 'ignore' }
)
process.on('SIGTERM', () => console.log('ignoring SIGTERM'))
console.log('stubborn helper pid=' + helper.pid)
console.log('up')
setInterval(() => {}, 1000)
`)

function supervise (t: Test, specs: ProcessSpec[], opts: SupervisorOptions = {}) {
  const lines: string[] = []
  const sup = new Supervisor(specs, { write: (line) => lines.push(line), readyPollMs: 50, ...opts })
  t.teardown(() => sup.stop())
  return { sup, lines }
}

t.test('backoffDelay doubles from the initial delay up to the cap', async (t) => {
  const b = { initialMs: 500, maxMs: 10_000, resetAfterMs: 30_000 }
  t.same([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b)), [500, 1000, 2000, 4000, 8000, 10_000, 10_000])
  t.equal(formatPrefix('gateway', 8), '[gateway ]')
})

t.test('formatLogLine makes pino lines short and leaves other lines alone', async (t) => {
  t.equal(formatLogLine('plain text'), 'plain text')
  t.equal(formatLogLine('{not json'), '{not json')
  t.equal(formatLogLine('{"a":1}'), '{"a":1}', 'JSON without a pino level passes unchanged')
  const time = Date.UTC(2026, 0, 2, 3, 4, 5)
  t.equal(
    formatLogLine(
      JSON.stringify({
        level: 30,
        time,
        pid: 1,
        hostname: 'h',
        reqId: 'req-1',
        req: { method: 'GET', url: '/orders', remoteAddress: '127.0.0.1' },
        msg: 'incoming request',
      })
    ),
    '03:04:05 INFO  incoming request GET /orders reqId=req-1')
  t.equal(
    formatLogLine(
      JSON.stringify({
        level: 30,
        time,
        reqId: 'req-1',
        res: { statusCode: 201 },
        responseTime: 3.7,
        msg: 'request completed',
      })
    ),
    '03:04:05 INFO  request completed 201 4ms reqId=req-1')
  t.equal(
    formatLogLine(JSON.stringify({ level: 40, time, url: 'http://127.0.0.1:4101', msg: 'orders ready' })),
    '03:04:05 WARN  orders ready url=http://127.0.0.1:4101')
  t.equal(
    formatLogLine(JSON.stringify({ level: 30, time, url: 'http://127.0.0.1:4101', msg: 'orders ready at http://127.0.0.1:4101' })),
    '03:04:05 INFO  orders ready at http://127.0.0.1:4101', 'a field already in the message is not repeated')
  const error = formatLogLine(
    JSON.stringify({
      level: 50,
      time,
      err: { type: 'Error', message: 'db down', stack: 'Error: db down\n    at x (y.ts:1:1)' },
      msg: 'request failed',
    })
  )
  t.equal(error, '03:04:05 ERROR request failed err="Error: db down"\n    at x (y.ts:1:1)')
})

t.test('prefixed output and one ready line when the readiness URL answers 200', async (t) => {
  const port = await freePort()
  const { sup, lines } = supervise(t, [
    { name: 'srv', args: [join(dir, 'server.mjs')], env: { ...process.env, PORT: String(port), READY_AFTER_MS: '300' }, readyUrl: `http://127.0.0.1:${port}/healthz` },
  ], { extraNames: ['longname'] })
  sup.start()
  await sup.ready('srv')
  await waitFor(() => lines.some((l) => l.includes('listening')), 15_000, 'the pino line', 25)
  const prefix = '[srv     ] '
  t.ok(lines.every((l) => l.startsWith(prefix)), 'every line carries the padded name')
  t.ok(lines.some((l) => l === `${prefix}hello plain line`), 'plain stdout line')
  t.ok(
    lines.some((l) => new RegExp(`^\\[srv {5}\\] \\d\\d:\\d\\d:\\d\\d INFO  listening port=${port}$`).test(l)),
    'pino line made short'
  )
  t.ok(lines.some((l) => l.startsWith(`${prefix}helper pid=`)), 'stderr is shown too')
  t.match(lines.find((l) => l.includes('started pid=')), /started pid=\d+: node /)
  t.equal(lines.filter((l) => l.includes(' ready (')).length, 1, 'one ready line')
  t.equal(lines.find((l) => l.includes(' ready (')), `${prefix}ready (http://127.0.0.1:${port}/healthz)`)
  const pid = sup.pids().srv
  t.type(pid, 'number')
  t.ok(isAlive(pid!))
})

t.test('a process waits for the readiness of the ones it comes after', async (t) => {
  const port = await freePort()
  const spawned: string[] = []
  const { sup } = supervise(t, [
    { name: 'late', args: [join(dir, 'stubborn.mjs')], after: ['srv'] },
    { name: 'srv', args: [join(dir, 'server.mjs')], env: { ...process.env, PORT: String(port), READY_AFTER_MS: '400' }, readyUrl: `http://127.0.0.1:${port}/healthz` },
  ], { stopTimeoutMs: 300 })
  sup.on('spawn', (name) => spawned.push(name))
  sup.on('ready', (name) => spawned.push(`${name} ready`))
  sup.start()
  await sup.ready()
  t.same(spawned, ['srv', 'srv ready', 'late', 'late ready'])
})

t.test('a crashed process is restarted with exponential backoff', async (t) => {
  const starts = join(dir, 'starts-backoff.txt')
  const { sup, lines } = supervise(t, [
    { name: 'crash', args: [join(dir, 'crash.mjs')], env: { ...process.env, STARTS_FILE: starts } },
  ], { backoff: { initialMs: 100, maxMs: 400, resetAfterMs: 60_000 } })
  sup.start()
  const count = () => existsSync(starts) ? readFileSync(starts, 'utf8').trim().split('\n').length : 0
  await waitFor(() => count() >= 5, 15_000, '5 starts', 25)
  await waitFor(
    () => lines.filter((l) => l.includes('restarting in')).length >= 4,
    15_000,
    'the 4th restart notice',
    25
  )
  await sup.stop()

  const notices = lines.filter((l) => l.includes('restarting in')).slice(0, 4)
  t.same(notices, [100, 200, 400, 400].map((ms) => `[crash] exited (code 1); restarting in ${ms} ms`))
  t.ok(lines.includes('[crash] boom'), 'the crash output is shown')
  t.ok(sup.restarts('crash') >= 4)
  const times = readFileSync(starts, 'utf8').trim().split('\n').map(Number)
  const gaps = times.slice(1, 5).map((time, i) => time - times[i]!)
  // Lower bounds only: each restart waited at least its backoff delay.
  ;[100, 200, 400, 400].forEach((ms, i) => t.ok(
    gaps[i]! >= ms - 10,
    `restart ${i + 1} waited ≥ ${ms} ms (${gaps[i]} ms)`
  ))
  const after = count()
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(count(), after, 'no restart after stop')
})

t.test('the backoff starts over after a process stayed up long enough', async (t) => {
  const starts = join(dir, 'starts-reset.txt')
  const { sup, lines } = supervise(t, [
    { name: 'crash', args: [join(dir, 'crash.mjs')], env: { ...process.env, STARTS_FILE: starts, UP_MS: '300' } },
  ], { backoff: { initialMs: 50, maxMs: 1000, resetAfterMs: 200 } })
  sup.start()
  await waitFor(() => lines.filter((l) => l.includes('restarting in')).length >= 3, 15_000, '3 restart notices', 25)
  await sup.stop()
  t.same(lines.filter((l) => l.includes('restarting in')).slice(0, 3),
    Array(3).fill('[crash] exited (code 1); restarting in 50 ms'))
})

t.test('stop ends every child, their helpers, and one that ignores SIGTERM', async (t) => {
  const port = await freePort()
  const { sup, lines } = supervise(t, [
    { name: 'srv', args: [join(dir, 'server.mjs')], env: { ...process.env, PORT: String(port) }, readyUrl: `http://127.0.0.1:${port}/healthz` },
    { name: 'stubborn', args: [join(dir, 'stubborn.mjs')] },
  ], { stopTimeoutMs: 500 })
  sup.start()
  await sup.ready()
  await waitFor(() => lines.some((l) => l.includes('helper pid=')), 15_000, 'the helper pid', 25)
  await waitFor(() => lines.some((l) => l.endsWith('] up')), 15_000, 'stubborn up', 25)
  const helper = Number(/\] helper pid=(\d+)/.exec(lines.find((l) => l.includes('] helper pid='))!)![1])
  const stubbornHelper = Number(/stubborn helper pid=(\d+)/.exec(lines.find((l) => l.includes('stubborn helper pid='))!)![1])
  const pids = [sup.pids().srv!, sup.pids().stubborn!, helper, stubbornHelper]
  t.ok(pids.every(isAlive), 'all running before stop')

  await sup.stop()
  await waitFor(() => !isAlive(helper) && !isAlive(stubbornHelper), 5000, 'the helpers to be gone', 25).catch(() => {})
  t.same(pids.map(isAlive), [false, false, false, false], 'no process left, helpers included (the group is killed)')
  t.ok(lines.includes('[srv     ] got SIGTERM'), 'SIGTERM first')
  t.ok(lines.includes('[stubborn] ignoring SIGTERM'))
  t.ok(lines.includes('[stubborn] did not stop within 500 ms, killing'))
  t.ok(lines.includes('[stubborn] stopped (signal SIGKILL)'))
  t.ok(lines.includes('[srv     ] stopped (code 0)'))
  t.same(sup.pids(), { srv: undefined, stubborn: undefined })
  t.equal(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'answered', () => 'refused'), 'refused')
})

t.test('a command that cannot start is reported and retried, not thrown', async (t) => {
  const { sup, lines } = supervise(t, [
    { name: 'ghost', command: join(dir, 'no-such-binary'), args: [] },
  ], { backoff: { initialMs: 50, maxMs: 50, resetAfterMs: 60_000 } })
  sup.start()
  await waitFor(() => lines.filter((l) => l.includes('failed to start')).length >= 2, 15_000, 'two failures', 25)
  await sup.stop()
  t.match(lines.find((l) => l.includes('failed to start')), /^\[ghost\] failed to start: spawn .*ENOENT; restarting in 50 ms$/)
})

t.test('bad specs are refused up front', async (t) => {
  t.throws(() => new Supervisor([{ name: 'a', args: [] }, { name: 'a', args: [] }]), /duplicate process name "a"/)
  t.throws(() => new Supervisor([{ name: 'a', args: [], after: ['b'] }]), /unknown process "b"/)
})
