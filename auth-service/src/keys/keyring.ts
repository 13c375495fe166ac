/**
 * The signing keyring: loads manifest + PEMs from KEYS_DIR. The `active` key signs; the
 * JWKS publishes next, active and retiring, so a gateway has seen a key before it signs
 * and still knows it while tokens it signed are alive.
 */
import { generateKeyPair as generateKeyPairCb, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  calculateJwkThumbprint, createLocalJWKSet, exportJWK, importPKCS8, importSPKI, type JWK, type JWTVerifyGetKey,
} from 'jose'
import { ACCESS_TOKEN_ALG } from '../contract.js'
import {
  ensureKeys, PUBLISHED_STATES, privateKeyFile, publicKeyFile, readManifest, withKeysLock, writeFileAtomic,
  type Manifest,
} from '../../../services/kernel/key-directory.js'
import { readSecrets, SECRETS_FILE, type Secrets } from './manifest.js'

const generateKeyPair = promisify(generateKeyPairCb)

export type SigningKey = CryptoKey

export interface Keyring {
  /** kid and private key of the key that signs now. */
  active: { kid: string, privateKey: SigningKey }
  /** Public JWKs (kid, alg, use) of next, active and retiring keys. */
  jwks: { keys: JWK[] }
  /** `jwks` as a jose key resolver: the service verifies its own tokens with it. */
  keySet: JWTVerifyGetKey
  secrets: Secrets
}

export async function createKeyFiles (dir: string): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const jwk = await exportJWK(await importSPKI(publicKey, ACCESS_TOKEN_ALG, { extractable: true }))
  const kid = await calculateJwkThumbprint(jwk)
  await writeFileAtomic(privateKeyFile(dir, kid), privateKey, 0o600)
  await writeFileAtomic(publicKeyFile(dir, kid), publicKey, 0o644)
  return kid
}

/**
 * Makes sure `dir` holds an active key, a pre-published next key and secrets.json.
 * Idempotent: existing keys and secrets are kept. Returns the manifest.
 */
export async function initKeyring (dir: string): Promise<Manifest> {
  return await withKeysLock(dir, async () => {
    const manifest = await ensureKeys(dir, createKeyFiles)
    if (await readSecrets(dir) === null) {
      const secrets: Secrets = {
        refreshTokenSecret: randomBytes(32).toString('base64url'),
        csrfSecret: randomBytes(32).toString('base64url'),
      }
      await writeFileAtomic(join(dir, SECRETS_FILE), JSON.stringify(secrets, null, 2) + '\n', 0o600)
    }
    return manifest
  })
}

/** Loads the keyring from `dir` (initialising it first when there is no manifest). */
export async function loadKeyring (dir: string): Promise<Keyring> {
  let manifest = await readManifest(dir)
  let secrets = await readSecrets(dir)
  if (manifest === null || secrets === null) {
    manifest = await initKeyring(dir)
    secrets = await readSecrets(dir)
  }
  const activeEntry = manifest.keys.find((k) => k.state === 'active')
  if (!activeEntry || !secrets) throw new Error(`${dir}: manifest has no active key or secrets.json is missing`)
  const privatePem = await readFile(privateKeyFile(dir, activeEntry.kid), 'utf8')
  const privateKey = await importPKCS8(privatePem, ACCESS_TOKEN_ALG)
  const keys: JWK[] = []
  for (const entry of manifest.keys) {
    if (!PUBLISHED_STATES.includes(entry.state)) continue
    const pem = await readFile(publicKeyFile(dir, entry.kid), 'utf8')
    const { kty, n, e } = await exportJWK(await importSPKI(pem, ACCESS_TOKEN_ALG, { extractable: true }))
    keys.push({ kty, n, e, kid: entry.kid, alg: ACCESS_TOKEN_ALG, use: 'sig' })
  }
  const jwks = { keys }
  return { active: { kid: activeEntry.kid, privateKey }, jwks, keySet: createLocalJWKSet(jwks), secrets }
}
