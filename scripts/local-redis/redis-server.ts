/**
 * Finding a Redis, or starting a private `redis-server` from PATH. Used by `npm start`
 * and by tests that need a Redis of their own (for example to stop it mid-test).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'

export const REDIS_MISSING_HELP =
  'No Redis found. Set REDIS_URL to a running Redis, or install redis-server ' +
  '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) so one can be started for you.'

export interface RedisServer {
  url: string
  port: number
  dir: string
  process: ChildProcess
  /** Stops it (SIGTERM) and waits for the exit. Keeps the data directory unless `removeDir`. */
  stop: (opts?: { removeDir?: boolean }) => Promise<void>
}

export interface StartRedisOptions {
  port?: number
  /** Data directory; a fresh temporary one by default. */
  dir?: string
  appendOnly?: boolean
  extraArgs?: string[]
}

/** Resolves true when something answers PING at host:port within `timeoutMs`. */
export async function pingRedis (url: string, timeoutMs = 500): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(Number(port || 6379), hostname, () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')))
  })
}

export async function startRedisServer (opts: StartRedisOptions = {}): Promise<RedisServer> {
  const port = opts.port ?? await freePort()
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'jwt-edge-redis-'))
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', opts.appendOnly ? 'yes' : 'no', '--daemonize', 'no', '--loglevel', 'warning',
    ...(opts.extraArgs ?? []),
  ]
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const failed = new Promise<never>((_resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(REDIS_MISSING_HELP) : err))
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)))
  })
  failed.catch(() => {})
  const url = `redis://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  while (!(await pingRedis(url, 200))) {
    await Promise.race([failed, new Promise((resolve) => setTimeout(resolve, 50))])
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server did not answer on port ${port}`)
    }
  }
  return {
    url,
    port,
    dir,
    process: child,
    async stop ({ removeDir = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      if (removeDir) rmSync(dir, { recursive: true, force: true })
    },
  }
}
