import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { freePort } from '../testing/ports.js'
import { STACK } from '../start/stack.js'
import { isAlive, REPO_ROOT } from '../testing/node-process.js'
import { useTestRedis } from '../testing/redis.js'

import { sleep } from '../testing/wait.js'
/** A deadline for Promise.race that does not keep the process alive once the race is won. */
const deadline = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref())

t.test('npm start runs the whole stack, serves the lifecycle through the gateway, ' +
  'and Ctrl-C stops every process', async (t) => {
  const required = STACK.filter((e) => !e.optional).map((e) => e.entry)
  t.same(required.filter((entry) => !existsSync(join(REPO_ROOT, entry))), [], 'every entry file exists')

  const redis = await useTestRedis(t)
  const keysDir = mkdtempSync(join(tmpdir(), 'jwt-edge-start-keys-'))
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, KEYS_DIR: keysDir }
  for (const entry of STACK) {
    env[entry.portVar] = String(await freePort())
    delete env[entry.hostVar]
    if (entry.urlVar) delete env[entry.urlVar]
  }
  for (const name of ['JWKS_URL', 'REFRESH_TOKEN_SECRET', 'CSRF_SECRET']) delete env[name]

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/start/main.ts'],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  const lines: string[] = []
  let exit: { code: number | null, signal: string | null } | undefined
  const exited = new Promise<void>((resolve) => child.once(
    'exit',
    (code, signal) => { exit = { code, signal }; resolve() }
  ))
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => lines.push(line))
  }
  const pids = () => lines.flatMap((l) => /\] started pid=(\d+)/.exec(l)?.[1] ?? []).map(Number)
  t.teardown(async () => {
    if (!exit) {
      child.kill('SIGTERM')
      await Promise.race([exited, deadline(15_000)])
    }
    for (const pid of pids()) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  })

  const upPattern = /jwt-edge is up at (http:\/\/\S+)/
  const upDeadline = Date.now() + 90_000
  const waiting = () => !lines.some((l) => upPattern.test(l)) && exit === undefined && Date.now() < upDeadline
  while (waiting()) await sleep(200)
  const upLine = lines.find((l) => upPattern.test(l))
  if (!upLine) t.comment(lines.slice(-60).join('\n'))
  t.ok(upLine, 'the gateway URL line is printed')
  t.equal(upPattern.exec(upLine ?? '')?.[1], `http://127.0.0.1:${env.GATEWAY_PORT}`)
  for (const name of STACK.filter((e) => existsSync(join(REPO_ROOT, e.entry))).map((e) => e.name)) {
    t.ok(lines.some((l) => l.startsWith(`[${name.padEnd(8)}] ready (`)), `one ready line for ${name}`)
  }
  t.ok(lines.some((l) => l.startsWith('[redis   ] using Redis at')), 'the given Redis is used, none started')

  const gateway = `http://127.0.0.1:${env.GATEWAY_PORT}`
  const ready = await fetch(`${gateway}/readyz`)
  t.equal(ready.status, 200, 'GET /readyz on the gateway: keys loaded, Redis reachable')
  await runLifecycle(t, gateway)
  const orders = await fetch(`http://127.0.0.1:${env.ORDERS_PORT}/healthz`)
  t.equal(orders.status, 200, 'the orders service listens on ORDERS_PORT')

  const started = pids()
  t.ok(started.length >= 5, `the supervisor printed the pids (${started.join(', ')})`)
  t.ok(started.every(isAlive), 'all running')

  child.kill('SIGINT')
  await Promise.race([exited, deadline(20_000)])
  t.same(exit, { code: 0, signal: null }, 'npm start exits 0 after SIGINT')
  t.ok(lines.some((l) => l.includes('all stopped')))
  t.same(started.filter(isAlive), [], 'no child process left')
  t.equal(await fetch(`http://127.0.0.1:${env.GATEWAY_PORT}/healthz`).then(() => 'answered', () => 'refused'), 'refused')
})

/** register → proxied calls → refresh → logout, all through the gateway of the running stack. */
async function runLifecycle (t: Test, gateway: string): Promise<void> {
  const json = (body: unknown) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })
  const registered = await fetch(`${gateway}/auth/register`, json({
    email: `start-${Date.now()}@example.test`, password: 'correct horse battery', tokenDelivery: 'body',
  }))
  t.equal(registered.status, 201, 'register through the gateway')
  const session = await registered.json() as { accessToken: string, refreshToken: string, user: { id: string } }

  const me = await fetch(
    `${gateway}/api/users/me`,
    { headers: { authorization: `Bearer ${session.accessToken}`, 'x-user-id': 'spoofed' } }
  )
  t.equal((await me.json() as { id: string }).id, session.user.id, 'the users service sees the verified identity')
  const order = await fetch(`${gateway}/api/orders`, {
    ...json({ item: 'coffee', quantity: 1 }),
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${session.accessToken}`,
    },
  })
  t.equal(order.status, 201, 'an order is created through the gateway')

  const refreshed = await fetch(`${gateway}/auth/refresh`, json({ refreshToken: session.refreshToken }))
  t.equal(refreshed.status, 200, 'refresh through the gateway')
  const next = await refreshed.json() as { accessToken: string, refreshToken: string }
  t.equal((await fetch(`${gateway}/api/orders`, bearer(next.accessToken))).status, 200, 'the refreshed token works')

  t.equal((await fetch(`${gateway}/auth/logout`, json({ refreshToken: next.refreshToken }))).status, 204, 'logout')
  let status = 0
  for (let i = 0; i < 50 && status !== 401; i++) {
    status = (await fetch(`${gateway}/api/orders`, bearer(next.accessToken))).status
    if (status !== 401) await sleep(20)
  }
  t.equal(status, 401, 'the logged-out session\'s access token is refused')
}
