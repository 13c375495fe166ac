/**
 * GATEWAY_WORKERS=N (N > 1): the gateway on N processes sharing one port (node:cluster,
 * round-robin: the primary accepts connections and hands them to the workers).
 *
 * - the primary serves nothing: it forks the workers, replaces one that dies (at most N times
 *   a minute, then it gives up and exits 1)
 * - on SIGTERM/SIGINT it asks each to drain and close (SHUTDOWN_DRAIN, then its app's close)
 *   and waits (10 s, then exits anyway); SIGHUP it passes on, so every worker reloads the
 *   gateway file (each also follows the file itself: ops/reload.ts)
 * - each worker is a whole gateway (server.ts -> buildGateway): its own key store, revocation
 *   set and Redis subscriptions, so revocations and key changes reach every worker through
 *   Redis exactly as they reach separate gateways
 */
import cluster, { type Worker } from 'node:cluster'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import type { GatewayConfig } from '../config.js'
import { loggerOptions } from './logger.js'
import { urlFor } from '../../../services/kernel/serve.js'
import { drainAndClose } from '../../../services/kernel/shutdown.js'

const RESTART_WINDOW_MS = 60_000
const SHUTDOWN_TIMEOUT_MS = 10_000
/** Primary → worker: drain, then close (serve.ts's drain, as on SIGTERM). */
const SHUTDOWN_MESSAGE = 'gateway:shutdown'

/** True in the process that must fork instead of serving. */
export function isClusterPrimary (config: Pick<GatewayConfig, 'workers'>): boolean {
  return config.workers > 1 && cluster.isPrimary
}

/** Runs the primary until shutdown (it then exits the process); never resolves. */
export function runPrimary (config: Pick<GatewayConfig, 'workers' | 'host' | 'port' | 'logLevel'>): Promise<never> {
  const options = loggerOptions(config.logLevel)
  const log = pino(options, options.stream)
  const restarts: number[] = []
  const listening = new Set<number>()
  let announced = false
  let stopping = false

  const fork = (): Worker => {
    const worker = cluster.fork()
    worker.on('listening', (address) => {
      listening.add(worker.id)
      if (!announced && listening.size >= config.workers) {
        announced = true
        const host = address.address ?? config.host
        const url = urlFor(host, address.port)
        const { workers } = config
        log.info({ url, workers, pid: process.pid }, `gateway ready at ${url} (${workers} workers)`)
      }
    })
    return worker
  }

  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id)
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    const now = Date.now()
    while (restarts.length > 0 && (restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift()
    if (restarts.length >= config.workers) {
      log.error({ code, signal }, 'gateway workers keep dying, giving up')
      stopping = true
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM')
      process.exitCode = 1
      setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref()
      return
    }
    restarts.push(now)
    log.warn({ pid: worker.process.pid, code, signal }, 'gateway worker died, starting another')
    fork()
  })

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'closing gateway workers')
    const workers = Object.values(cluster.workers ?? {})
    if (workers.length === 0) process.exit(0)
    // A message, not a signal: on Ctrl-C the workers got SIGINT themselves, and a second
    // signal makes close-with-grace exit at once. Not disconnect() either: that closes the
    // workers' servers at once, idle keep-alive connections with them, and skips the drain.
    for (const w of workers) w?.send(SHUTDOWN_MESSAGE)
    setTimeout(() => {
      log.error('gateway workers did not close within 10 s, exiting')
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP')
  })

  for (let i = 0; i < config.workers; i++) fork()
  return new Promise<never>(() => {})
}

/** In a worker: drain and close when the primary asks, or when it goes away (no orphan keeps the port). */
export function closeWithPrimary (app: FastifyInstance, drainMs: number): void {
  if (!cluster.isWorker) return
  const shutdown = () => {
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref()
    drainAndClose(app, drainMs).finally(() => process.exit(0))
  }
  process.on('message', (message) => { if (message === SHUTDOWN_MESSAGE) shutdown() })
  process.once('disconnect', shutdown)
}
