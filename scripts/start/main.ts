/**
 * `npm start`: the whole stack on this machine. Keys created when missing, Redis found or
 * started, web app built when it has no build, the gateway compiled (scripts/start/bundle.ts),
 * then every process of scripts/start/stack.ts supervised (restart on crash, one `ready` line
 * each), and the gateway URL printed.
 * Ctrl-C / SIGTERM stops every child and the private Redis, then exits 0.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RedisServer } from '../local-redis/redis-server.js'
import { STACK, planStack, stackEnv } from './stack.js'
import { bundle } from './bundle.js'
import { StartError, buildWebIfNeeded, ensureKeys, ensureRedis } from './setup.js'
import { Supervisor, formatPrefix } from './supervisor.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const OWN_NAMES = ['start', 'keys', 'redis', 'build']
const WIDTH = Math.max(...[...STACK.map((e) => e.name), ...OWN_NAMES].map((n) => n.length))
/** Longest a clean stop may take before we give up and exit 1 (children get 10 s, then SIGKILL). */
const SHUTDOWN_LIMIT_MS = 15_000

function log (name: string, message: string): void {
  for (const line of message.split('\n')) process.stdout.write(`${formatPrefix(name, WIDTH)} ${line}\n`)
}

let supervisor: Supervisor | undefined
let redis: RedisServer | undefined
let stopping = false

async function shutdown (reason: string, exitCode: number): Promise<void> {
  if (stopping) return
  stopping = true
  log('start', `${reason}: stopping everything`)
  setTimeout(() => {
    log('start', `still not stopped after ${SHUTDOWN_LIMIT_MS / 1000} s, exiting`)
    process.exit(1)
  }, SHUTDOWN_LIMIT_MS).unref()
  await supervisor?.stop()
  if (redis) {
    await redis.stop()
    log('redis', 'private redis-server stopped')
  }
  log('start', 'all stopped')
  process.exit(exitCode)
}

// Installed first, so Ctrl-C during setup also cleans up. A repeated signal (tsx or npm
// relaying the same Ctrl-C) must not cut the clean stop short, so it is ignored.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => { shutdown(signal, 0).catch(() => process.exit(1)) })
}

async function main (): Promise<void> {
  const secrets = await ensureKeys(ROOT, process.env, log)
  const found = await ensureRedis(ROOT, process.env, log)
  redis = found.server
  // If this process dies without the clean stop, its private Redis must not outlive it.
  process.once('exit', () => { if (redis?.process.exitCode === null) redis.process.kill('SIGKILL') })
  redis?.process.once('exit', (code, signal) => {
    if (!stopping) {
      const how = signal ?? `code ${code}`
      log('redis', `private redis-server exited (${how}); restart npm start to get it back`)
    }
  })
  if (stopping) return
  const plan = planStack(ROOT, stackEnv(process.env, { REDIS_URL: found.url, ...secrets }))
  if (plan.missing.length > 0) {
    throw new StartError(`missing entry file(s): ${plan.missing.join(', ')}`)
  }
  await buildWebIfNeeded(ROOT, process.env, log)
  if (stopping) return

  for (const entry of STACK) {
    if (!entry.bundle) continue
    await bundle(ROOT, entry.entry, entry.bundle)
    log('build', `${entry.entry} -> ${entry.bundle}`)
  }
  if (stopping) return
  supervisor = new Supervisor(plan.specs, { extraNames: OWN_NAMES })
  supervisor.start()
  await supervisor.ready()
  if (stopping) return
  log('start', `all ${plan.specs.length} processes ready`)
  log('start', `jwt-edge is up at ${plan.gatewayUrl} (Ctrl-C stops everything)`)
}

main().catch((err: unknown) => {
  const message = err instanceof StartError ? err.message : `unexpected failure: ${(err as Error).stack ?? String(err)}`
  log('start', message)
  shutdown('start failed', 1).catch(() => process.exit(1))
})
