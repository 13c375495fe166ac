/**
 * The keys directory layout (shared with `npm run keys`): manifest.json, <kid>.private.pem,
 * <kid>.public.pem, secrets.json. Files are written mode 0600, atomically (temp + rename).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
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

export interface Secrets {
  refreshTokenSecret: string
  csrfSecret: string
}

export const MANIFEST_FILE = 'manifest.json'
export const SECRETS_FILE = 'secrets.json'
export const privateKeyFile = (dir: string, kid: string) => join(dir, `${kid}.private.pem`)
export const publicKeyFile = (dir: string, kid: string) => join(dir, `${kid}.public.pem`)

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

export async function readSecrets (dir: string): Promise<Secrets | null> {
  try {
    const s = JSON.parse(await readFile(join(dir, SECRETS_FILE), 'utf8')) as Secrets
    if (typeof s.refreshTokenSecret !== 'string' || typeof s.csrfSecret !== 'string') {
      throw new Error(`${join(dir, SECRETS_FILE)}: refreshTokenSecret and csrfSecret must be strings`)
    }
    return s
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}
