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

export interface PruneResult { removed: KeyEntry[], kept: KeyEntry[] }

/**
 * Removes retiring keys retired at least `minAgeSeconds` ago. Younger retiring keys may
 * still verify live tokens: refuse (throw) unless `force`.
 */
export async function pruneKeys (dir: string, minAgeSeconds: number, { force = false, now = Date.now() } = {}): Promise<PruneResult> {
  return await withKeysLock(dir, async () => {
    const manifest = await readManifest(dir)
    if (!manifest) throw new Error(`${dir}: no manifest`)
    const retiring = manifest.keys.filter((k) => k.state === 'retiring')
    const age = (k: KeyEntry) => (now - Date.parse(k.retiredAt ?? k.createdAt)) / 1000
    const young = retiring.filter((k) => age(k) < minAgeSeconds)
    if (young.length > 0 && !force) {
      throw new Error(`refusing to prune ${young.map((k) => `${k.kid} (retired ${Math.round(age(k))} s ago)`).join(', ')}: ` +
        `younger than ${minAgeSeconds} s, tokens signed with it may still be alive; use --force to prune anyway`)
    }
    const removed = force ? retiring : retiring.filter((k) => age(k) >= minAgeSeconds)
    manifest.keys = manifest.keys.filter((k) => !removed.includes(k))
    await writeManifest(dir, manifest)
    for (const k of removed) {
      await rm(privateKeyFile(dir, k.kid), { force: true })
      await rm(publicKeyFile(dir, k.kid), { force: true })
    }
    return { removed, kept: manifest.keys }
  })
}
