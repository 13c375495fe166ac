/**
 * Starts the whole stack for the browser end-to-end test the way `npm start` does
 * (scripts/start/main.ts as a child process) on free ports, with a private Redis and a short
 * access-token lifetime, and stops it again. E2E_START_SCRIPT may point at another
 * entry with the same env interface.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { freePort, startRedisServer, type RedisServer } from '../../../../scripts/local-redis/redis-server.js'
import { REPO_ROOT } from '../../../../scripts/testing/node-process.js'

export { REPO_ROOT }

export interface Stack {
  gatewayUrl: string
  output: () => string
  stop: () => Promise<void>
}

export interface StackOptions {
  accessTokenTtl: number
  readyTimeoutMs?: number
}

async function waitReady (url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the stack exited with code ${child.exitCode} before it was ready`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      if (res.status === 200) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
}

export async function startStack (opts: StackOptions): Promise<Stack> {
  let redis: RedisServer | undefined
  let redisUrl = process.env.E2E_REDIS_URL
  if (!redisUrl) {
    redis = await startRedisServer()
    redisUrl = redis.url
  }
  const [gateway, auth, orders, users, payments, web] = await Promise.all(Array.from({ length: 6 }, () => freePort()))
  const local = (port: number | undefined) => `http://127.0.0.1:${port}`
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GATEWAY_PORT: String(gateway),
    AUTH_PORT: String(auth),
    ORDERS_PORT: String(orders),
    USERS_PORT: String(users),
    PAYMENTS_PORT: String(payments),
    WEB_PORT: String(web),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `e2e:${randomBytes(4).toString('hex')}:`,
    ACCESS_TOKEN_TTL: String(opts.accessTokenTtl),
    // Expiry must be exact for the test to see the 401 → refresh → replay path.
    CLOCK_TOLERANCE: '0',
    RATE_LIMIT_AUTH: '1000',
    RATE_LIMIT_API: '10000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  }
  const script = process.env.E2E_START_SCRIPT ?? 'scripts/start/main.ts'
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const collect = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-20_000) }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }
    await redis?.stop({ removeDir: true })
  }

  const gatewayUrl = local(gateway)
  try {
    await waitReady(`${gatewayUrl}/readyz`, child, opts.readyTimeoutMs ?? 90_000)
    // The SPA must be reachable through the gateway too.
    await waitReady(`${gatewayUrl}/`, child, 30_000)
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n--- stack output ---\n${output}`)
  }
  return { gatewayUrl, output: () => output, stop }
}
