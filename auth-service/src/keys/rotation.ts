/**
 * Local key rotation steps on the keys directory (the plain, single-host version), the kernel's
 * (services/kernel/key-directory.ts) with the auth service's RSA keys: rotate = next → active,
 * active → retiring, a new next; prune = drop retiring keys that no live access token can still
 * need, refusing when every retiring key is still too young (unless `force`).
 */
import {
  pruneKeys as pruneDirectory, rotateKeys as rotateDirectory, type Manifest, type PruneResult,
} from '../../../services/kernel/key-directory.js'
import { createKeyFiles } from './keyring.js'

export { retiredAge, type PruneResult } from '../../../services/kernel/key-directory.js'

export async function rotateKeys (dir: string, now = new Date()): Promise<Manifest> {
  return await rotateDirectory(dir, createKeyFiles, { now })
}

export async function pruneKeys (dir: string, minAgeSeconds: number,
  { force = false, now = Date.now() } = {}): Promise<PruneResult> {
  return await pruneDirectory(dir, minAgeSeconds, { force, now, refuseYoung: true })
}
