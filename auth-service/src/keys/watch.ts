/**
 * Picks up a key rotation (`npm run keys -- rotate|prune`) without a restart. Four triggers,
 * one reload path:
 * - a file watch on the keys directory (debounced), so every instance sharing keys/ follows;
 * - the keys channel in Redis (`${REDIS_PREFIX}keys`, published by the keys CLI): forced reload;
 * - `app.reloadKeys(reason)` (server.ts calls it on SIGHUP): forced reload;
 * - a poll of the manifest every KEYS_RELOAD_INTERVAL s (0: no poll), for file systems where
 *   watching is unreliable (network mounts).
 * A failed reload keeps the current keys (and is logged), so a half-written directory never
 * takes signing down; the next trigger tries again.
 */
import { watch, type FSWatcher } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { createSubscriber, type RedisClient } from '../../../services/kernel/redis.js'
import { loadKeyring, type Keyring } from './keyring.js'
import { MANIFEST_FILE } from './manifest.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Re-reads keys/ now (SIGHUP). Resolves true when the keys were (re)loaded. Absent when keys were injected. */
    reloadKeys?: (reason: string) => Promise<boolean>
  }
}

export interface KeyringWatchOptions {
  /** Client to duplicate for the keys-channel subscription; none: no subscription. */
  redis?: RedisClient
  channel?: string
}

const DEBOUNCE_MS = 100

export function watchKeyring (
  app: FastifyInstance, dir: string, intervalMs: number, onChange: (keyring: Keyring) => void,
  opts: KeyringWatchOptions = {}
): void {
  const manifest = join(dir, MANIFEST_FILE)
  let last = ''
  let running: Promise<boolean> | null = null
  let again: { reason: string, force: boolean } | null = null
  let closed = false

  const fingerprint = async () => {
    const s = await stat(manifest)
    return `${s.ino}:${s.mtimeMs}:${s.size}`
  }

  async function check (reason: string, force: boolean): Promise<boolean> {
    try {
      const seen = await fingerprint()
      if (last === '' && !force) { last = seen; return false }
      if (seen === last && !force) return false
      const keyring = await loadKeyring(dir)
      last = seen
      onChange(keyring)
      app.log.info({ reason, kid: keyring.active.kid, published: keyring.jwks.keys.map((k) => k.kid) },
        'signing keys reloaded')
      return true
    } catch (err) {
      app.log.error({ reason, err: (err as Error).message }, 'signing keys reload failed; keeping the current keys')
      return false
    }
  }

  /** One reload at a time; a trigger during a reload runs once more after it (never lost, never parallel). */
  function reload (reason: string, force: boolean): Promise<boolean> {
    if (closed) return Promise.resolve(false)
    if (running) {
      again = { reason, force: force || (again?.force ?? false) }
      return running
    }
    running = check(reason, force).finally(() => {
      running = null
      const next = again
      again = null
      if (next) reload(next.reason, next.force).catch(() => {})
    })
    return running
  }

  let timer: NodeJS.Timeout | null = null
  if (intervalMs > 0) {
    timer = setInterval(() => { reload('poll', false).catch(() => {}) }, intervalMs)
    timer.unref()
  }

  let watcher: FSWatcher | null = null
  let debounce: NodeJS.Timeout | null = null
  try {
    watcher = watch(dir, { persistent: false }, () => {
      if (debounce) clearTimeout(debounce)
      debounce = setTimeout(() => { reload('file', false).catch(() => {}) }, DEBOUNCE_MS)
      debounce.unref()
    })
    watcher.on('error', (err) => app.log.warn({ err: err.message }, 'keys directory watch failed; relying on the poll'))
  } catch (err) {
    app.log.warn({ err: (err as Error).message }, 'keys directory cannot be watched; relying on the poll')
  }

  let subscriber: RedisClient | null = null
  if (opts.redis && opts.channel) {
    const channel = opts.channel
    // Offline queue on: SUBSCRIBE waits for the connection; ioredis re-subscribes after reconnects.
    const sub = createSubscriber(opts.redis)
    subscriber = sub
    sub.on('error', () => {}) // reconnects on its own
    sub.on('message', (ch: string) => { if (ch === channel) reload('keys channel', true).catch(() => {}) })
    sub.subscribe(channel).catch((err: Error) => app.log.warn({ err: err.message }, 'keys channel subscribe failed'))
    // On every (re)connect: catch up on a change published while disconnected.
    sub.on('ready', () => { reload('keys channel reconnect', false).catch(() => {}) })
    if (sub.status === 'wait') sub.connect().catch(() => {})
  }

  app.decorate('reloadKeys', (reason: string) => reload(reason, true))
  app.addHook('onReady', async () => { await reload('start', false) })
  app.addHook('onClose', async () => {
    closed = true
    if (timer) clearInterval(timer)
    if (debounce) clearTimeout(debounce)
    watcher?.close()
    subscriber?.disconnect()
  })
}
