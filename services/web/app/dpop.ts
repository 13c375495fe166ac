/**
 * The page's DPoP key (RFC 9449): one ECDSA P-256 key pair per browser profile, generated with
 * `extractable: false` and kept in IndexedDB, which stores the CryptoKey object itself: no
 * script (ours or an injected one) can read the private key's bytes, so a token copied out of
 * the page is useless anywhere else. Every proof is a fresh ES256 JWS over htm, htu, iat, jti
 * and, with an access token, ath.
 */

const DB_NAME = 'jwt-edge'
const STORE = 'keys'
const KEY_ID = 'dpop'
const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const

export type ProveRequest = (htm: string, htu: string, accessToken?: string) => Promise<string>

function b64url (bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)
  let text = ''
  for (const byte of view) text += String.fromCharCode(byte)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const encode = (value: unknown) => b64url(new TextEncoder().encode(JSON.stringify(value)))

function asPromise<T> (req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

async function openDb (): Promise<IDBDatabase> {
  const req = indexedDB.open(DB_NAME, 1)
  req.onupgradeneeded = () => { req.result.createObjectStore(STORE) }
  return await asPromise(req)
}

/** The stored key pair, or a new one; two tabs racing keep the first one stored. */
async function loadKeyPair (): Promise<CryptoKeyPair> {
  const db = await openDb()
  try {
    const read = () =>
      asPromise(db.transaction(STORE).objectStore(STORE).get(KEY_ID)) as Promise<CryptoKeyPair | undefined>
    const stored = await read()
    if (stored) return stored
    const made = await crypto.subtle.generateKey(ALG, false, ['sign']) as CryptoKeyPair
    try {
      await asPromise(db.transaction(STORE, 'readwrite').objectStore(STORE).add(made, KEY_ID))
      return made
    } catch {
      return await read() ?? made
    }
  } finally {
    db.close()
  }
}

async function sha256 (text: string): Promise<string> {
  return b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

/** A proof maker for this browser's key; null where IndexedDB or WebCrypto is missing (the app then uses Bearer). */
export async function createDpopProver (): Promise<ProveRequest | null> {
  if (typeof indexedDB === 'undefined' || typeof crypto?.subtle === 'undefined') return null
  const keys = await loadKeyPair()
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keys.publicKey)
  const header = encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })
  return async function prove (htm, htu, accessToken) {
    const claims: Record<string, unknown> = { jti: crypto.randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) }
    if (accessToken !== undefined) claims.ath = await sha256(accessToken)
    const input = `${header}.${encode(claims)}`
    // WebCrypto's ECDSA signature is r || s, the form JWS ES256 wants.
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey,
      new TextEncoder().encode(input))
    return `${input}.${b64url(signature)}`
  }
}
