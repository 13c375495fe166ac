/**
 * The gateway's own signing keys (identity assertions), in GATEWAY_KEYS_DIR: manifest.json and
 * <kid>.private.pem / <kid>.public.pem, ES256 (P-256), in the auth service's layout and states.
 *
 * - `active` signs; `next` is published before it signs (so services hold it when rotation
 *   makes it active); `retiring` is published until pruned, so assertions it signed still verify
 * - init (idempotent), rotate and prune run under a lock file: every gateway process, worker and
 *   the keys CLI may touch the directory
 * - files are written 0600 (public keys 0644), atomically (temp file + rename)
 */
import { generateKeyPairSync, randomBytes, createPublicKey, type KeyObject, createPrivateKey } from 'node:crypto'
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { IDENTITY_ASSERTION } from '../contract.js'

export type GatewayKeyState = 'next' | 'active' | 'retiring'

export interface GatewayKeyEntry {
  kid: string
  state: GatewayKeyState
  createdAt: string
  activatedAt?: string
  retiredAt?: string
}

export interface GatewayKeyManifest { version: 1, keys: GatewayKeyEntry[] }

/** What the signer and the JWKS route need: the signing key and the published public keys. */
export interface GatewayKeySet {
  active: { kid: string, privateKey: KeyObject }
  jwks: { keys: JWK[] }
}

export const MANIFEST_FILE = 'manifest.json'
const PUBLISHED: readonly GatewayKeyState[] = ['next', 'active', 'retiring']
const LOCK_WAIT_MS = 15_000
const STALE_LOCK_MS = 30_000

async function writeFileAtomic (path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, data, { mode })
  await rename(tmp, path)
}

export async function readGatewayManifest (dir: string): Promise<GatewayKeyManifest | null> {
  let raw: string
  try {
    raw = await readFile(join(dir, MANIFEST_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const m = JSON.parse(raw) as GatewayKeyManifest
  if (m.version !== 1 || !Array.isArray(m.keys)) throw new Error(`${join(dir, MANIFEST_FILE)}: unsupported manifest`)
  return m
}

async function writeManifest (dir: string, manifest: GatewayKeyManifest): Promise<void> {
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', 0o600)
}

const privateFile = (dir: string, kid: string) => join(dir, `${kid}.private.pem`)
const publicFile = (dir: string, kid: string) => join(dir, `${kid}.public.pem`)

/** The public JWK of a key, as published: kty, crv, x, y, kid, alg, use. */
export function publicJwk (publicKey: KeyObject, kid: string): JWK {
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  return { kty, crv, x, y, kid, alg: IDENTITY_ASSERTION.alg, use: 'sig' }
}

async function createKeyFiles (dir: string): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK)
  await writeFileAtomic(privateFile(dir, kid), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600)
  await writeFileAtomic(publicFile(dir, kid), publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644)
  return kid
}

/** Serialises changes to `dir` between processes (an exclusive lock file; a stale one is broken). */
export async function withGatewayKeysLock<T> (dir: string, fn: () => Promise<T>): Promise<T> {
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
      else if (Date.now() > deadline) throw new Error(`gateway keys directory ${dir} is locked (${lock})`)
      else await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lock, { force: true })
  }
}

/** Makes sure `dir` holds an active and a pre-published next key; existing keys are kept. */
export async function initGatewayKeys (dir: string): Promise<GatewayKeyManifest> {
  return await withGatewayKeysLock(dir, async () => {
    const manifest = await readGatewayManifest(dir) ?? { version: 1, keys: [] }
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
  })
}

/** next → active, active → retiring (still published), a new next. */
export async function rotateGatewayKeys (dir: string, now = new Date()): Promise<GatewayKeyManifest> {
  return await withGatewayKeysLock(dir, async () => {
    const manifest = await readGatewayManifest(dir)
    const next = manifest?.keys.find((k) => k.state === 'next')
    if (!manifest || !next) throw new Error(`${dir}: no pre-published next gateway key; run "keys init" first`)
    const at = now.toISOString()
    for (const k of manifest.keys) if (k.state === 'active') Object.assign(k, { state: 'retiring', retiredAt: at })
    Object.assign(next, { state: 'active', activatedAt: at })
    manifest.keys.push({ kid: await createKeyFiles(dir), state: 'next', createdAt: at })
    await writeManifest(dir, manifest)
    return manifest
  })
}

export interface GatewayPruneResult { removed: GatewayKeyEntry[], kept: GatewayKeyEntry[] }

/**
 * Drops retiring keys retired at least `minAgeS` ago (an assertion lives IDENTITY_ASSERTION.maxTtlS
 * at most, so a key retired longer than that plus the clock tolerance signed nothing still valid);
 * `force` drops every retiring key.
 */
export async function pruneGatewayKeys (dir: string, minAgeS: number,
  { force = false, now = Date.now() } = {}): Promise<GatewayPruneResult> {
  return await withGatewayKeysLock(dir, async () => {
    const manifest = await readGatewayManifest(dir)
    if (!manifest) throw new Error(`${dir}: no gateway key manifest`)
    const old = (k: GatewayKeyEntry) => (now - Date.parse(k.retiredAt ?? k.createdAt)) / 1000 >= minAgeS
    const removed = manifest.keys.filter((k) => k.state === 'retiring' && (force || old(k)))
    if (removed.length === 0) return { removed, kept: manifest.keys }
    manifest.keys = manifest.keys.filter((k) => !removed.includes(k))
    await writeManifest(dir, manifest)
    for (const k of removed) {
      await rm(privateFile(dir, k.kid), { force: true })
      await rm(publicFile(dir, k.kid), { force: true })
    }
    return { removed, kept: manifest.keys }
  })
}

/** Loads the key set, creating the keys first when the directory has none (the first start). */
export async function loadGatewayKeys (dir: string): Promise<GatewayKeySet> {
  const found = await readGatewayManifest(dir)
  const manifest = found?.keys.some((k) => k.state === 'active') && found.keys.some((k) => k.state === 'next')
    ? found
    : await initGatewayKeys(dir)
  const active = manifest.keys.find((k) => k.state === 'active')!
  const privateKey = createPrivateKey(await readFile(privateFile(dir, active.kid), 'utf8'))
  const keys: JWK[] = []
  for (const entry of manifest.keys) {
    if (!PUBLISHED.includes(entry.state)) continue
    keys.push(publicJwk(createPublicKey(await readFile(publicFile(dir, entry.kid), 'utf8')), entry.kid))
  }
  return { active: { kid: active.kid, privateKey }, jwks: { keys } }
}
