import t from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { freePort } from '../../../scripts/lib/redis-server.js'
import { REPO_ROOT } from '../../../scripts/testing/node-process.js'

function run (entry: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const out: string[] = []
  const err: string[] = []
  createInterface({ input: child.stdout }).on('line', (l) => out.push(l))
  createInterface({ input: child.stderr }).on('line', (l) => err.push(l))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, out, err, exited }
}

t.test('a service entry listens, logs one ready line with its URL, and closes on SIGTERM with exit 0', async (t) => {
  const port = await freePort()
  const { child, out, exited } = run('services/payments/src/server.ts', { PAYMENTS_PORT: String(port), PAYMENTS_HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => { child.kill('SIGKILL') })
  const deadline = Date.now() + 60_000
  const readyLine = () => out.find((l) => l.includes('ready'))
  while (!readyLine() && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  const ready = JSON.parse(readyLine() ?? '{}')
  t.equal(ready.msg, `payments ready at http://127.0.0.1:${port}`)
  t.equal(ready.url, `http://127.0.0.1:${port}`)
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200)
  child.kill('SIGTERM')
  t.equal(await exited, 0)
  t.ok(out.some((l) => l.includes('"signal":"SIGTERM"') && l.includes('"msg":"closing"')), 'the close is logged with its signal')
})

t.test('a service entry with bad config exits 1 naming every bad variable', async (t) => {
  const { err, exited } = run('services/orders/src/server.ts', { ORDERS_PORT: 'abc', LOG_LEVEL: 'loud' })
  t.equal(await exited, 1)
  const text = err.join('\n')
  t.match(text, /ORDERS_PORT must be an integer/)
  t.match(text, /LOG_LEVEL must be one of/)
})
