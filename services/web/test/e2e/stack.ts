/**
 * The whole stack for the browser end-to-end test, started the way `npm start` does.
 * - scripts/start/main.ts as a child process (E2E_START_SCRIPT may name another entry with the same env).
 * - Free ports, a private Redis (or E2E_REDIS_URL) and a short access-token lifetime.
 * - Ports, limits and waiting come from scripts/testing/stack.ts, shared with the failure drills.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { startRedisServer, type RedisServer } from '../../../../scripts/local-redis/redis-server.js'
import { REPO_ROOT } from '../../../../scripts/testing/node-process.js'
import {
  NO_RATE_LIMITS, localUrl, portEnv, stackPorts, waitForOk,
} from '../../../../scripts/testing/stack.js'

export { REPO_ROOT }

export interface Stack {
  gatewayUrl: string
  /** REDIS_URL and REDIS_PREFIX of the stack, for `npm run users` against it. */
  redisEnv: Record<string, string>
  output: () => string
  stop: () => Promise<void>
}

export interface StackOptions {
  accessTokenTtl: number
  readyTimeoutMs?: number
}

export async function startStack (opts: StackOptions): Promise<Stack> {
  let redis: RedisServer | undefined
  let redisUrl = process.env.E2E_REDIS_URL
  if (!redisUrl) {
    redis = await startRedisServer()
    redisUrl = redis.url
  }
  const ports = await stackPorts()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...portEnv(ports),
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `e2e:${randomBytes(4).toString('hex')}:`,
    ACCESS_TOKEN_TTL: String(opts.accessTokenTtl),
    // Expiry must be exact for the test to see the 401 → refresh → replay path.
    CLOCK_TOLERANCE: '0',
    ...NO_RATE_LIMITS,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  }
  const script = process.env.E2E_START_SCRIPT ?? 'scripts/start/main.ts'
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-20_000) }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const gone = () => child.exitCode === null
    ? undefined
    : `the stack exited with code ${child.exitCode} before it was ready`

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

  const gatewayUrl = localUrl(ports.gateway)
  try {
    await waitForOk(`${gatewayUrl}/readyz`, { timeoutMs: opts.readyTimeoutMs ?? 90_000, gone, everyMs: 250 })
    // The SPA must be reachable through the gateway too.
    await waitForOk(`${gatewayUrl}/`, { timeoutMs: 30_000, gone, everyMs: 250 })
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n--- stack output ---\n${output}`)
  }
  const redisEnv = { REDIS_URL: env.REDIS_URL!, REDIS_PREFIX: env.REDIS_PREFIX! }
  return { gatewayUrl, redisEnv, output: () => output, stop }
}
