/**
 * A directory of signing keys, the layout the auth service's keys (KEYS_DIR) and the gateway's
 * own (GATEWAY_KEYS_DIR) share: manifest.json and <kid>.private.pem / <kid>.public.pem.
 *
 * - states: `active` signs; `next` is published before it signs (verifiers hold it when a
 *   rotation makes it active); `retiring` is published until pruned, so what it signed verifies
 * - init, rotate and prune run under a lock file (every process and the keys CLI may touch the
 *   directory); files are written atomically (temp + rename), private ones 0600
 * - what kind of key a directory holds is the caller's: `createKeyFiles` makes one and returns its kid
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export type KeyState = 'next' | 'active' | 'retiring'

export interface KeyEntry {
  kid: string
  state: KeyState
  createdAt: string
  activatedAt?: string
  retiredAt?: string
}

export interface Manifest {
  version: 1
  keys: KeyEntry[]
}

/** Makes a key pair's files in the directory; resolves to its kid. */
export type CreateKeyFiles = (dir: string) => Promise<string>

export const MANIFEST_FILE = 'manifest.json'
export const PUBLISHED_STATES: readonly KeyState[] = ['next', 'active', 'retiring']
export const privateKeyFile = (dir: string, kid: string) => join(dir, `${kid}.private.pem`)
export const publicKeyFile = (dir: string, kid: string) => join(dir, `${kid}.public.pem`)

const LOCK_WAIT_MS = 15_000
const STALE_LOCK_MS = 30_000

/** Writes a file atomically: a temp file in the same directory, then rename. */
export async function writeFileAtomic (path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, data, { mode })
  await rename(tmp, path)
}

export async function readManifest (dir: string): Promise<Manifest | null> {
  let raw: string
  try {
    raw = await readFile(join(dir, MANIFEST_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const m = JSON.parse(raw) as Manifest
  if (m.version !== 1 || !Array.isArray(m.keys)) throw new Error(`${join(dir, MANIFEST_FILE)}: unsupported manifest`)
  return m
}

export async function writeManifest (dir: string, manifest: Manifest): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n')
}

/** Serialises changes to `dir` between processes (an exclusive lock file; a stale one is broken). */
export async function withKeysLock<T> (dir: string, fn: () => Promise<T>, what = 'keys directory'): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const lock = join(dir, '.lock')
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0)
      if (age > STALE_LOCK_MS) await rm(lock, { force: true })
      else if (Date.now() > deadline) throw new Error(`${what} ${dir} is locked (${lock})`)
      else await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lock, { force: true })
  }
}

/** Under the lock held: an active and a pre-published next key, existing ones kept (idempotent). */
export async function ensureKeys (dir: string, createKeyFiles: CreateKeyFiles): Promise<Manifest> {
  const manifest = await readManifest(dir) ?? { version: 1, keys: [] }
  const now = new Date().toISOString()
  let changed = false
  if (!manifest.keys.some((k) => k.state === 'active')) {
    manifest.keys.push({ kid: await createKeyFiles(dir), state: 'active', createdAt: now, activatedAt: now })
    changed = true
  }
  if (!manifest.keys.some((k) => k.state === 'next')) {
    manifest.keys.push({ kid: await createKeyFiles(dir), state: 'next', createdAt: now })
    changed = true
  }
  if (changed) await writeManifest(dir, manifest)
  return manifest
}

/** next → active, active → retiring (still published), a new next. */
export async function rotateKeys (
  dir: string, createKeyFiles: CreateKeyFiles, { now = new Date(), what = 'key' } = {}
): Promise<Manifest> {
  return await withKeysLock(dir, async () => {
    const manifest = await readManifest(dir)
    const next = manifest?.keys.find((k) => k.state === 'next')
    if (!manifest || !next) throw new Error(`${dir}: no pre-published next ${what}; run "keys init" first`)
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
 * Removes retiring keys retired at least `minAgeSeconds` ago; younger ones may still verify live
 * tokens and are deferred. `force` removes every retiring key (an emergency after a leak).
 * `refuseYoung`: when every retiring key is too young, throw instead of removing nothing.
 */
export async function pruneKeys (dir: string, minAgeSeconds: number,
  { force = false, now = Date.now(), refuseYoung = false } = {}): Promise<PruneResult> {
  return await withKeysLock(dir, async () => {
    const manifest = await readManifest(dir)
    if (!manifest) throw new Error(`${dir}: no manifest`)
    const retiring = manifest.keys.filter((k) => k.state === 'retiring')
    const young = force ? [] : retiring.filter((k) => retiredAge(k, now) < minAgeSeconds)
    if (refuseYoung && young.length > 0 && young.length === retiring.length) {
      const ages = young.map((k) => `${k.kid} (retired ${Math.round(retiredAge(k, now))} s ago)`).join(', ')
      throw new Error(`refusing to prune ${ages}: ` +
        `younger than ${minAgeSeconds} s, tokens signed with it may still be alive; use --force to prune anyway`)
    }
    const removed = retiring.filter((k) => !young.includes(k))
    if (removed.length === 0) return { removed, kept: manifest.keys, deferred: young }
    manifest.keys = manifest.keys.filter((k) => !removed.includes(k))
    await writeManifest(dir, manifest)
    for (const k of removed) {
      await rm(privateKeyFile(dir, k.kid), { force: true })
      await rm(publicKeyFile(dir, k.kid), { force: true })
    }
    return { removed, kept: manifest.keys, deferred: young }
  })
}
