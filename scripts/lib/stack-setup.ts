/**
 * What `npm start` does before it starts the stack: signing keys and secrets, a Redis
 * (found or started), and the web app's build when it has none yet.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { freePort, pingRedis, startRedisServer, REDIS_MISSING_HELP, type RedisServer } from './redis-server.js'

export type Log = (name: string, message: string) => void

/** A setup failure with a message meant for the person who ran `npm start`. */
export class StartError extends Error {
  override name = 'StartError'
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** Runs a command to completion, its output prefixed with `name`; resolves the exit code. */
export async function runStep (name: string, command: string, args: string[], opts: { cwd: string, env: NodeJS.ProcessEnv }, log: Log): Promise<number> {
  return await new Promise((resolve) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => log(name, line))
    }
    child.once('error', (err) => { log(name, `could not run ${command}: ${err.message}`); resolve(1) })
    child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

/** `node --import tsx scripts/keys.ts init` (idempotent): one active and one next key, plus secrets.json. */
export async function ensureKeys (root: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  const script = join(root, 'scripts', 'keys.ts')
  if (!existsSync(script)) {
    log('keys', 'scripts/keys.ts not found: keys are not created (the auth service may refuse to start)')
    return
  }
  const code = await runStep('keys', process.execPath, ['--import', 'tsx', script, 'init'], { cwd: root, env }, log)
  if (code !== 0) throw new StartError(`key setup failed (scripts/keys.ts init exited with ${code}); see the [keys] lines above`)
}

export function keysDir (root: string, env: NodeJS.ProcessEnv): string {
  return env.KEYS_DIR || join(root, 'keys')
}

/** REFRESH_TOKEN_SECRET and CSRF_SECRET from keys/secrets.json, for the auth service and the gateway. */
export function readSecrets (dir: string): { REFRESH_TOKEN_SECRET?: string, CSRF_SECRET?: string } {
  const file = join(dir, 'secrets.json')
  if (!existsSync(file)) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    throw new StartError(`${file} is not valid JSON; fix or delete it and start again`)
  }
  const secrets = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>
  return {
    REFRESH_TOKEN_SECRET: typeof secrets.refreshTokenSecret === 'string' ? secrets.refreshTokenSecret : undefined,
    CSRF_SECRET: typeof secrets.csrfSecret === 'string' ? secrets.csrfSecret : undefined,
  }
}

/** A URL safe to print: any password replaced. */
export function safeUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString().replace(/\/$/, '')
  } catch {
    return '(unparsable URL)'
  }
}

async function portIsFree (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * The Redis at REDIS_URL (default 127.0.0.1:6379), or, when REDIS_URL is not set and
 * nothing answers there, a private redis-server whose data persists in <root>/.run/redis.
 * With REDIS_CLUSTER_NODES set, that cluster (nothing is started).
 */
export async function ensureRedis (root: string, env: NodeJS.ProcessEnv, log: Log, defaultUrl = DEFAULT_REDIS_URL): Promise<{ url: string, server?: RedisServer }> {
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
      'so npm start runs its own redis-server (it must be installed: Debian/Ubuntu apt-get install redis-server; macOS brew install redis).')
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

/** The web app's build command when it has no dist/index.html yet, else null (also when no script exists yet). */
export function webBuildCommand (root: string): { cwd: string, args: string[] } | null {
  const web = join(root, 'services', 'web')
  if (existsSync(join(web, 'dist', 'index.html'))) return null
  const webPackage = join(web, 'package.json')
  const hasVite = ['vite.config.ts', 'vite.config.js', 'vite.config.mjs'].some((f) => existsSync(join(web, f)))
  if (!existsSync(webPackage) && !hasVite) return null
  const scriptsOf = (file: string): Record<string, string> => {
    try { return JSON.parse(readFileSync(file, 'utf8')).scripts ?? {} } catch { return {} }
  }
  if (existsSync(webPackage) && scriptsOf(webPackage).build) return { cwd: web, args: ['run', 'build'] }
  const rootScripts = scriptsOf(join(root, 'package.json'))
  if (rootScripts['build:web']) return { cwd: root, args: ['run', 'build:web'] }
  if (rootScripts.build) return { cwd: root, args: ['run', 'build'] }
  return null
}

/** Builds the web app if needed; a failed build is reported but does not stop the API stack. */
export async function buildWebIfNeeded (root: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  const command = webBuildCommand(root)
  if (!command) return
  log('build', `services/web has no dist/index.html: npm ${command.args.join(' ')}`)
  const code = await runStep('build', 'npm', command.args, { cwd: command.cwd, env }, log)
  if (code !== 0) log('build', `web build failed (exit ${code}); the API still starts, the web app may not`)
}
