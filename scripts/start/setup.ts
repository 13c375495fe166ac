/**
 * What `npm start` does before it starts the stack: signing keys and secrets, a Redis
 * (found or started), and the web app's build when it has none yet.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { DEFAULT_KEYS_DIR } from '../../auth-service/src/config.js'
import { runKeysCli } from '../../auth-service/src/cli/keys/index.js'
import { readSecrets } from '../../auth-service/src/keys/manifest.js'
import { freePort, portIsFree } from '../local-redis/ports.js'
import { pingRedis, startRedisServer, REDIS_MISSING_HELP, type RedisServer } from '../local-redis/redis-server.js'
import { safeUrl } from '../../services/kernel/logging.js'

export type Log = (name: string, message: string) => void

/** A setup failure with a message meant for the person who ran `npm start`. */
export class StartError extends Error {
  override name = 'StartError'
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** Runs a command to completion, its output prefixed with `name`; resolves the exit code. */
export async function runStep (
  name: string,
  command: string,
  args: string[],
  opts: { cwd: string, env: NodeJS.ProcessEnv },
  log: Log
): Promise<number> {
  return await new Promise((resolve) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => log(name, line))
    }
    child.once('error', (err) => { log(name, `could not run ${command}: ${err.message}`); resolve(1) })
    child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

export interface StackSecrets { REFRESH_TOKEN_SECRET: string, CSRF_SECRET: string }

/**
 * The keys CLI's `init` (idempotent: one active and one next key, plus secrets.json), run in
 * this process with its output as [keys] lines; resolves the secrets for the stack's env.
 * A relative KEYS_DIR counts from the repo root, where the stack's processes run.
 */
export async function ensureKeys (root: string, env: NodeJS.ProcessEnv, log: Log): Promise<StackSecrets> {
  const dir = resolve(root, env.KEYS_DIR || DEFAULT_KEYS_DIR)
  const print = (line: string) => log('keys', line)
  const code = await runKeysCli(['init'], { env: { ...env, KEYS_DIR: dir }, out: print, err: print })
  const secrets = code === 0 ? await readSecrets(dir) : null
  if (!secrets) throw new StartError(`key setup failed (keys init exited with ${code}); see the [keys] lines above`)
  return { REFRESH_TOKEN_SECRET: secrets.refreshTokenSecret, CSRF_SECRET: secrets.csrfSecret }
}

/** The Redis to use, and the private server when npm start started one. */
export interface FoundRedis { url: string, server?: RedisServer }

/**
 * The Redis at REDIS_URL (default 127.0.0.1:6379), or, when REDIS_URL is not set and
 * nothing answers there, a private redis-server whose data persists in <root>/.run/redis.
 * With REDIS_CLUSTER_NODES set, that cluster (nothing is started).
 */
export async function ensureRedis (
  root: string, env: NodeJS.ProcessEnv, log: Log, defaultUrl = DEFAULT_REDIS_URL
): Promise<FoundRedis> {
  const url = env.REDIS_URL || defaultUrl
  // A Redis Cluster is used as given (the processes inherit REDIS_CLUSTER_NODES); never a private server.
  if (env.REDIS_CLUSTER_NODES?.trim()) {
    log('redis', `using the Redis Cluster at ${env.REDIS_CLUSTER_NODES.trim()} (REDIS_CLUSTER_NODES)`)
    return { url }
  }
  if (await pingRedis(url, 1000)) {
    log('redis', `using Redis at ${safeUrl(url)}`)
    return { url }
  }
  if (env.REDIS_URL) {
    throw new StartError(`REDIS_URL=${safeUrl(url)} does not answer. Start that Redis, or unset REDIS_URL ` +
      'so npm start runs its own redis-server (it must be installed: Debian/Ubuntu apt-get install redis-server; ' +
        'macOS brew install redis).')
  }
  const dir = join(root, '.run', 'redis')
  mkdirSync(dir, { recursive: true })
  // The usual port when it is free, so other tools find this Redis where they expect one.
  const usual = Number(new URL(defaultUrl).port || 6379)
  const port = await portIsFree(usual) ? usual : await freePort()
  let server: RedisServer
  try {
    server = await startRedisServer({ dir, port, appendOnly: true })
  } catch (err) {
    const message = (err as Error).message
    throw new StartError(message === REDIS_MISSING_HELP ? message : `could not start redis-server: ${message}`)
  }
  log('redis', `started a private redis-server pid=${server.process.pid} at ${server.url} (data in .run/redis)`)
  return { url: server.url, server }
}

/** The web app's build (the root `npm run build`, vite) when it has no dist/index.html yet, else null. */
export function webBuildCommand (root: string): { cwd: string, args: string[] } | null {
  if (existsSync(join(root, 'services', 'web', 'dist', 'index.html'))) return null
  return { cwd: root, args: ['run', 'build'] }
}

/** Builds the web app if needed; a failed build is reported but does not stop the API stack. */
export async function buildWebIfNeeded (root: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  const command = webBuildCommand(root)
  if (!command) return
  log('build', `services/web has no dist/index.html: npm ${command.args.join(' ')}`)
  const code = await runStep('build', 'npm', command.args, { cwd: command.cwd, env }, log)
  if (code !== 0) log('build', `web build failed (exit ${code}); the API still starts, the web app may not`)
}
