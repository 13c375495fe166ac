/**
 * The gateway's own signing keys (identity assertions), in GATEWAY_KEYS_DIR: the kernel's key
 * directory (services/kernel/key-directory.ts: manifest, states, lock, rotate, prune) holding
 * ES256 (P-256) keys, public key files 0644.
 */
import { generateKeyPairSync, createPublicKey, createPrivateKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { calculateJwkThumbprint, type JWK } from 'jose'
import {
  ensureKeys, privateKeyFile, PUBLISHED_STATES, publicKeyFile, pruneKeys, readManifest, rotateKeys, withKeysLock,
  writeFileAtomic, type KeyEntry, type Manifest, type PruneResult,
} from '../../../services/kernel/key-directory.js'
import { IDENTITY_ASSERTION } from '../contract.js'

export { MANIFEST_FILE } from '../../../services/kernel/key-directory.js'
export type GatewayKeyManifest = Manifest
export type GatewayKeyEntry = KeyEntry

/** What the signer and the JWKS route need: the signing key and the published public keys. */
export interface GatewayKeySet {
  active: { kid: string, privateKey: KeyObject }
  jwks: { keys: JWK[] }
}

const WHAT = 'gateway keys directory'

export const readGatewayManifest = readManifest

/** The public JWK of a key, as published: kty, crv, x, y, kid, alg, use. */
export function publicJwk (publicKey: KeyObject, kid: string): JWK {
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  return { kty, crv, x, y, kid, alg: IDENTITY_ASSERTION.alg, use: 'sig' }
}

async function createKeyFiles (dir: string): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK)
  await writeFileAtomic(privateKeyFile(dir, kid), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600)
  await writeFileAtomic(publicKeyFile(dir, kid), publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644)
  return kid
}

/** Makes sure `dir` holds an active and a pre-published next key; existing keys are kept. */
export async function initGatewayKeys (dir: string): Promise<GatewayKeyManifest> {
  return await withKeysLock(dir, async () => await ensureKeys(dir, createKeyFiles), WHAT)
}

/** next → active, active → retiring (still published), a new next. */
export async function rotateGatewayKeys (dir: string, now = new Date()): Promise<GatewayKeyManifest> {
  return await rotateKeys(dir, createKeyFiles, { now, what: 'gateway key' })
}

/**
 * Drops retiring keys retired at least `minAgeS` ago (an assertion lives IDENTITY_ASSERTION.maxTtlS
 * at most, so a key retired longer than that plus the clock tolerance signed nothing still valid);
 * `force` drops every retiring key. Younger ones are kept, without refusing.
 */
export async function pruneGatewayKeys (dir: string, minAgeS: number,
  { force = false, now = Date.now() } = {}): Promise<PruneResult> {
  return await pruneKeys(dir, minAgeS, { force, now })
}

/** Loads the key set, creating the keys first when the directory has none (the first start). */
export async function loadGatewayKeys (dir: string): Promise<GatewayKeySet> {
  const found = await readManifest(dir)
  const manifest = found?.keys.some((k) => k.state === 'active') && found.keys.some((k) => k.state === 'next')
    ? found
    : await initGatewayKeys(dir)
  const active = manifest.keys.find((k) => k.state === 'active')!
  const privateKey = createPrivateKey(await readFile(privateKeyFile(dir, active.kid), 'utf8'))
  const keys: JWK[] = []
  for (const entry of manifest.keys) {
    if (!PUBLISHED_STATES.includes(entry.state)) continue
    keys.push(publicJwk(createPublicKey(await readFile(publicKeyFile(dir, entry.kid), 'utf8')), entry.kid))
  }
  return { active: { kid: active.kid, privateKey }, jwks: { keys } }
}
