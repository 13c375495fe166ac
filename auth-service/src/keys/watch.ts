/**
 * Picks up a key rotation (`npm run keys -- rotate`) without a restart: polls the
 * manifest's mtime and reloads the keyring when it changes. A failed reload keeps the
 * current keys (and is logged), so a half-written directory never takes signing down.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { loadKeyring, type Keyring } from './keyring.js'
import { MANIFEST_FILE } from './manifest.js'

export function watchKeyring (app: FastifyInstance, dir: string, intervalMs: number, onChange: (keyring: Keyring) => void): void {
  const manifest = join(dir, MANIFEST_FILE)
  let last = 0
  let busy = false
  const check = async () => {
    if (busy) return
    busy = true
    try {
      const { mtimeMs } = await stat(manifest)
      if (last === 0) last = mtimeMs
      else if (mtimeMs !== last) {
        const keyring = await loadKeyring(dir)
        last = mtimeMs
        onChange(keyring)
        app.log.info({ kid: keyring.active.kid, published: keyring.jwks.keys.map((k) => k.kid) }, 'signing keys reloaded')
      }
    } catch (err) {
      app.log.error({ err: (err as Error).message }, 'signing keys reload failed; keeping the current keys')
    } finally {
      busy = false
    }
  }
  const timer = setInterval(() => { check().catch(() => {}) }, intervalMs)
  timer.unref()
  app.addHook('onReady', check)
  app.addHook('onClose', async () => { clearInterval(timer) })
}
