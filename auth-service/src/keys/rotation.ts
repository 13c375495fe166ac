/**
 * Local key rotation steps on the keys directory (the plain, single-host version):
 * rotate = next → active, active → retiring, a new next; prune = drop retiring keys
 * that no live access token can still need.
 */
import { rm } from 'node:fs/promises'
import { createKeyFiles, withKeysLock } from './keyring.js'
import { privateKeyFile, publicKeyFile, readManifest, writeManifest, type KeyEntry, type Manifest } from './manifest.js'

export async function rotateKeys (dir: string, now = new Date()): Promise<Manifest> {
  return await withKeysLock(dir, async () => {
    const manifest = await readManifest(dir)
    const next = manifest?.keys.find((k) => k.state === 'next')
    if (!manifest || !next) throw new Error(`${dir}: no pre-published next key; run "keys init" first`)
    const at = now.toISOString()
    for (const k of manifest.keys) {
      if (k.state === 'active') Object.assign(k, { state: 'retiring', retiredAt: at })
    }
    Object.assign(next, { state: 'active', activatedAt: at })
    manifest.keys.push({ kid: await createKeyFiles(dir), state: 'next', createdAt: at })
    await writeManifest(dir, manifest)
    return manifest
  })
}

export interface PruneResult {
  removed: KeyEntry[]
  /** Every key left in the manifest. */
  kept: KeyEntry[]
  /** Retiring keys kept because they are younger than the minimum age. */
  deferred: KeyEntry[]
}

/** Seconds since a retiring key stopped signing. */
export const retiredAge = (k: KeyEntry, now = Date.now()) => (now - Date.parse(k.retiredAt ?? k.createdAt)) / 1000

/**
 * Removes retiring keys retired at least `minAgeSeconds` ago (younger ones may still verify
 * live tokens and are kept). When there are retiring keys but none is old enough, refuses
 * (throws) unless `force`; `force` removes every retiring key (emergency after a leak).
 */
export async function pruneKeys (dir: string, minAgeSeconds: number,
  { force = false, now = Date.now() } = {}): Promise<PruneResult> {
  return await withKeysLock(dir, async () => {
    const manifest = await readManifest(dir)
    if (!manifest) throw new Error(`${dir}: no manifest`)
    const retiring = manifest.keys.filter((k) => k.state === 'retiring')
    const young = retiring.filter((k) => retiredAge(k, now) < minAgeSeconds)
    if (young.length > 0 && young.length === retiring.length && !force) {
      throw new Error(`refusing to prune ${young.map((k) => `${k.kid} (retired ${Math.round(retiredAge(k,
        now))} s ago)`).join(', ')}: ` +
        `younger than ${minAgeSeconds} s, tokens signed with it may still be alive; use --force to prune anyway`)
    }
    const removed = force ? retiring : retiring.filter((k) => !young.includes(k))
    if (removed.length === 0) return { removed, kept: manifest.keys, deferred: [] }
    manifest.keys = manifest.keys.filter((k) => !removed.includes(k))
    await writeManifest(dir, manifest)
    for (const k of removed) {
      await rm(privateKeyFile(dir, k.kid), { force: true })
      await rm(publicKeyFile(dir, k.kid), { force: true })
    }
    return { removed, kept: manifest.keys, deferred: force ? [] : young }
  })
}
