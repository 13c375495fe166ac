/**
 * The signing keyring: loads manifest + PEMs from KEYS_DIR. The `active` key signs; the
 * JWKS publishes next, active and retiring, so a gateway has seen a key before it signs
 * and still knows it while tokens it signed are alive.
 */
import { generateKeyPair as generateKeyPairCb, randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  calculateJwkThumbprint, createLocalJWKSet, exportJWK, importPKCS8, importSPKI, type JWK, type JWTVerifyGetKey,
} from 'jose'
import { ACCESS_TOKEN_ALG } from '../contract.js'
import {
  privateKeyFile, publicKeyFile, readManifest, readSecrets, writeFileAtomic, writeManifest,
  SECRETS_FILE, type KeyState, type Manifest, type Secrets,
} from './manifest.js'

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

/** Serialises key-directory changes between processes (npm start, the server, the CLI). */
export async function withKeysLock<T> (dir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const lock = join(dir, '.lock')
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      const fh = await open(lock, 'wx', 0o600)
      await fh.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0)
      if (age > 30_000) await rm(lock, { force: true })
      else if (Date.now() > deadline) throw new Error(`keys directory ${dir} is locked (${lock})`)
      else await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lock, { force: true })
  }
}

/**
 * Makes sure `dir` holds an active key, a pre-published next key and secrets.json.
 * Idempotent: existing keys and secrets are kept. Returns the manifest.
 */
export async function initKeyring (dir: string): Promise<Manifest> {
  return await withKeysLock(dir, async () => {
    const manifest = await readManifest(dir) ?? { version: 1, keys: [] }
    let changed = false
    const now = new Date().toISOString()
    if (!manifest.keys.some((k) => k.state === 'active')) {
      manifest.keys.push({ kid: await createKeyFiles(dir), state: 'active', createdAt: now, activatedAt: now })
      changed = true
    }
    if (!manifest.keys.some((k) => k.state === 'next')) {
      manifest.keys.push({ kid: await createKeyFiles(dir), state: 'next', createdAt: now })
      changed = true
    }
    if (changed) await writeManifest(dir, manifest)
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

const PUBLISHED: readonly KeyState[] = ['next', 'active', 'retiring']

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
    if (!PUBLISHED.includes(entry.state)) continue
    const pem = await readFile(publicKeyFile(dir, entry.kid), 'utf8')
    const { kty, n, e } = await exportJWK(await importSPKI(pem, ACCESS_TOKEN_ALG, { extractable: true }))
    keys.push({ kty, n, e, kid: entry.kid, alg: ACCESS_TOKEN_ALG, use: 'sig' })
  }
  const jwks = { keys }
  return { active: { kid: activeEntry.kid, privateKey }, jwks, keySet: createLocalJWKSet(jwks), secrets }
}
