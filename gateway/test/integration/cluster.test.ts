/**
 * GATEWAY_WORKERS=2: the real entry point (server.ts) as a child process with two workers.
 * Every request on a new connection goes round-robin to the next worker (node:cluster's
 * default on Linux); the request log lines carry the worker pid, so the test sees that
 * both workers answered, before and after a revocation, and that both refuse the revoked
 * token (each worker has its own revocation set, fed by Redis).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { REVOCATION } from '../../../auth-service/src/contract.js'
import { freePort } from '../../../scripts/testing/ports.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { bearer, request, startEchoUpstream, type Res } from '../../../scripts/testing/http.js'
import { createSigner, signToken, startJwksServer } from '../../../scripts/testing/jwt.js'
import { waitFor } from '../../../scripts/testing/wait.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

t.test('two workers: both serve, both refuse a revoked token, both stop on SIGTERM', async (t) => {
  const signer = await createSigner()
  const jwks = await startJwksServer(t, [signer.jwk])
  const echo = await startEchoUpstream(t)
  const r = await useTestRedis(t)
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      GATEWAY_WORKERS: '2',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      JWKS_URL: `${jwks.url}/.well-known/jwks.json`,
      AUTH_URL: echo.url,
      ORDERS_URL: echo.url,
      USERS_URL: echo.url,
      PAYMENTS_URL: echo.url,
      WEB_URL: echo.url,
      REDIS_URL: r.url,
      REDIS_PREFIX: r.prefix,
      CSRF_SECRET: randomBytes(32).toString('base64url'),
      GATEWAY_REGISTRY_INTERVAL: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let buffered = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    lines.push(...parts)
  })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += String(d) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  await waitFor(() => lines.some((l) => l.includes('(2 workers)')), 30_000, `primary ready line (stderr: ${stderr})`)
  const url = `http://127.0.0.1:${port}`
  await waitFor(
    async () => (await request(url, '/readyz')).status === 200 && (await request(url, '/readyz')).status === 200,
    10_000,
    'both workers ready'
  )

  const pidOf = (res: { headers: Record<string, unknown> }) => {
    const id = res.headers['x-request-id'] as string
    const line = lines.find((l) => l.includes(`"reqId":"${id}"`) && l.includes('request completed'))
    return line ? (JSON.parse(line) as { pid: number }).pid : undefined
  }
  const round = async (token: string) => {
    const results: Res[] = []
    // a new connection each
    for (let i = 0; i < 8; i++) results.push(await request(url, '/api/orders', { headers: [bearer(token)] }))
    // Log lines go out in batches (at least every 250 ms): wait for every answer's line.
    await waitFor(() => results.every((res) => pidOf(res) !== undefined), 5000, 'the request log lines')
    return results.map((res) => ({ status: res.status, error: res.json?.error, pid: pidOf(res) }))
  }

  const token = await signToken(signer, { claims: { sid: 'sid-cluster' } })
  const before = await round(token)
  t.same(before.map((x) => x.status), Array(8).fill(200), 'valid token: 200 from every worker')
  const pidsBefore = new Set(before.map((x) => x.pid))
  t.equal(pidsBefore.size, 2, 'two worker processes answered')
  t.notOk(pidsBefore.has(child.pid), 'the primary serves nothing')
  // One ready line, the primary's, once both listen: a worker's own would say "ready" too early.
  const logged = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { pid: number, msg: string })
  const readyLines = logged.filter((l) => / ready at /.test(l.msg))
  t.same(readyLines.map((l) => l.pid), [child.pid], 'only the primary logs a ready line')
  t.match(readyLines[0]?.msg, /^gateway ready at http:\/\/127\.0\.0\.1:\d+ \(2 workers\)$/)
  const listening = logged.filter((l) => /^gateway worker \d+ listening at /.test(l.msg))
  t.same(new Set(listening.map((l) => l.pid)), pidsBefore, 'each worker says it listens')

  const until = Date.now() + 60_000
  await r.client.zadd(REVOCATION.sessionsKey(r.prefix), until, 'sid-cluster')
  await r.client.publish(REVOCATION.channel(r.prefix), JSON.stringify({ type: 'session', sid: 'sid-cluster', until }))
  await waitFor(async () => (await round(token)).every((x) => x.status === 401), 5000, 'both workers refuse')
  const after = await round(token)
  t.same(
    after.map((x) => [x.status, x.error]),
    Array(8).fill([401, 'invalid_token']),
    'revoked: 401 invalid_token from every worker'
  )
  t.equal(new Set(after.map((x) => x.pid)).size, 2, 'both workers refused it')

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'the primary exits 0 after its workers closed')
  const alive = (pid: number) => {
    try { process.kill(pid, 0); return true } catch { return false }
  }
  for (const pid of [...pidsBefore] as number[]) {
    await waitFor(() => !alive(pid), 5000, `worker ${pid} to be gone`).catch(() => {})
    t.notOk(alive(pid), `worker ${pid} is gone`)
  }
})
