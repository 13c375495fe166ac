/**
 * The keys directory layout (shared with `npm run keys`): the kernel's key directory
 * (services/kernel/key-directory.ts: manifest.json, <kid>.private.pem, <kid>.public.pem) and
 * secrets.json, the auth service's own.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

export {
  MANIFEST_FILE, privateKeyFile, publicKeyFile, readManifest, writeFileAtomic, writeManifest,
  type KeyEntry, type KeyState, type Manifest,
} from '../../../services/kernel/key-directory.js'

export interface Secrets {
  refreshTokenSecret: string
  csrfSecret: string
}

export const SECRETS_FILE = 'secrets.json'

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
