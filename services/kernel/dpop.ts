/**
 * DPoP proofs (RFC 9449 section 4.3), checked the same way by the auth service (login, register,
 * refresh) and the gateway (bound access tokens): signature by the embedded public key, typ
 * dpop+jwt, htm, htu, iat window, jti, ath; then the jti claimed once in a Redis replay cache
 * that every process shares.
 *
 * - `verifyDpopProof` is pure apart from the crypto: it throws a DpopProofError with a stable
 *   `reason` and says nothing about HTTP status (each side maps it)
 * - `claimProofJti`: SET NX PX, keyed by the key's thumbprint and the jti's hash; its TTL covers
 *   every moment the proof's iat would still be accepted, so nothing older needs keeping
 * - no server nonce (section 8/9): the iat window plus the shared replay cache are the defence
 * - imported keys and their thumbprints are remembered by the header's exact jwk text (bounded,
 *   oldest out first): importing costs ~4x the signature check, and a client keeps one key
 */
import { createHash } from 'node:crypto'
import {
  calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey, type JWK,
} from 'jose'
import type { RedisClient } from './redis.js'

export const DPOP_PROOF_TYP = 'dpop+jwt'
/** Asymmetric algorithms a proof may use (section 4.2: never none, never a MAC). */
export const DPOP_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const
export const DPOP_HEADER = 'dpop'
/** Seconds either side of now a proof's iat may be. */
export const DEFAULT_DPOP_WINDOW_S = 60
export const MAX_PROOF_BYTES = 4096
export const MAX_JTI_LENGTH = 256
/** Distinct proof keys whose import is remembered. */
export const KEY_CACHE_SIZE = 10_000

/** JWK members that only a private or symmetric key carries (RFC 7518 6.2.2, 6.3.2, 6.4; RFC 8037). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

export type DpopProofReason =
  | 'proof_missing' | 'proof_malformed' | 'proof_alg' | 'proof_private_key' | 'proof_signature'
  | 'proof_htm' | 'proof_htu' | 'proof_iat' | 'proof_jti' | 'proof_ath' | 'proof_replayed' | 'proof_key_mismatch'

export class DpopProofError extends Error {
  readonly reason: DpopProofReason
  constructor (reason: DpopProofReason, message: string) {
    super(message)
    this.name = 'DpopProofError'
    this.reason = reason
  }
}

const fail = (reason: DpopProofReason, message: string): never => { throw new DpopProofError(reason, message) }

const UNRESERVED = /[A-Za-z0-9\-._~]/

/**
 * scheme://host[:port]/path of `url` as RFC 3986 section 6 normalises it (the WHATWG parser lowers
 * scheme and host and drops a default port; here percent-encodings of unreserved characters are
 * decoded and the others upper-cased), without query and fragment (RFC 9449 section 4.3 step 9).
 * Null when it is not an absolute http(s) URL.
 */
export function normaliseHtu (url: string): string | null {
  if (!URL.canParse(url)) return null
  const u = new URL(url)
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null
  const path = u.pathname.replace(/%[0-9a-fA-F]{2}/g, (pct) => {
    const char = String.fromCharCode(parseInt(pct.slice(1), 16))
    return UNRESERVED.test(char) ? char : pct.toUpperCase()
  })
  return `${u.protocol}//${u.host}${path}`
}

/** base64url(SHA-256(access token)): the proof's `ath` (section 4.2). */
export function accessTokenHash (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export interface ProofExpectations {
  /** The request's method, exactly (htm is case-sensitive). */
  method: string
  /** Every normalised URL (normaliseHtu) the request may have been sent to; htu must be one. */
  urls: readonly string[]
  /** The access token the proof must carry the hash of (resource requests); none at the token endpoint. */
  accessToken?: string
  /** Seconds, default now. */
  nowS?: number
  windowS: number
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key (the token's cnf.jkt). */
  jkt: string
  jti: string
  iat: number
}

interface ImportedKey { key: CryptoKey, jkt: string }
const importedKeys = new Map<string, Promise<ImportedKey>>()

/** The header's public key, imported for its alg, and its thumbprint; a rejected import is not remembered. */
function importProofKey (jwk: JWK, alg: string): Promise<ImportedKey> {
  const id = `${alg}:${JSON.stringify(jwk)}`
  let found = importedKeys.get(id)
  if (found === undefined) {
    found = (async () => {
      const key = await importJWK({ ...jwk, ext: true }, alg)
      if (key instanceof Uint8Array || key.type !== 'public') {
        throw new DpopProofError('proof_private_key', 'DPoP proof jwk must be a public key')
      }
      return { key, jkt: await calculateJwkThumbprint(jwk, 'sha256') }
    })()
    found.catch(() => importedKeys.delete(id))
    if (importedKeys.size >= KEY_CACHE_SIZE) importedKeys.delete(importedKeys.keys().next().value as string)
    importedKeys.set(id, found)
  }
  return found
}

function checkHeader (proof: string): void {
  let header: Record<string, unknown>
  try { header = decodeProtectedHeader(proof) as Record<string, unknown> } catch {
    return fail('proof_malformed', 'DPoP proof is not a JWS')
  }
  if (!(DPOP_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
    fail('proof_alg', 'DPoP proof alg must be an asymmetric algorithm')
  }
  const jwk = header.jwk
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) fail('proof_malformed', 'DPoP proof has no jwk')
  // A private key in the header means the client's key is no secret: refused before any use of it.
  if (PRIVATE_JWK_MEMBERS.some((m) => m in (jwk as object))) {
    fail('proof_private_key', 'DPoP proof jwk must be a public key')
  }
}

/** The verified proof, or a DpopProofError. The jti is not claimed here (claimProofJti). */
export async function verifyDpopProof (proof: string, expect: ProofExpectations): Promise<VerifiedProof> {
  if (proof.length === 0) fail('proof_missing', 'DPoP proof required')
  if (proof.length > MAX_PROOF_BYTES) fail('proof_malformed', 'DPoP proof too large')
  checkHeader(proof)
  let payload: Record<string, unknown>
  let jkt = ''
  try {
    const verified = await jwtVerify(proof, async (header) => {
      const imported = await importProofKey(header.jwk as JWK, header.alg)
      jkt = imported.jkt
      return imported.key
    }, { typ: DPOP_PROOF_TYP, algorithms: [...DPOP_ALGORITHMS] })
    payload = verified.payload as Record<string, unknown>
  } catch (err) {
    if (err instanceof DpopProofError) throw err
    const code = (err as { code?: string }).code
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return fail('proof_signature', 'DPoP proof signature invalid')
    if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') return fail('proof_alg', 'DPoP proof alg not allowed')
    return fail('proof_malformed', 'DPoP proof invalid')
  }
  const { htm, htu, iat, jti, ath } = payload
  if (htm !== expect.method) fail('proof_htm', 'DPoP proof htm does not match the request method')
  const target = typeof htu === 'string' ? normaliseHtu(htu) : null
  if (target === null || !expect.urls.includes(target)) {
    fail('proof_htu', 'DPoP proof htu does not match the request URL')
  }
  const now = expect.nowS ?? Math.floor(Date.now() / 1000)
  if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(now - iat) > expect.windowS) {
    fail('proof_iat', 'DPoP proof iat is outside the accepted window')
  }
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    fail('proof_jti', 'DPoP proof jti missing or too long')
  }
  if (expect.accessToken !== undefined) {
    if (typeof ath !== 'string' || ath !== accessTokenHash(expect.accessToken)) {
      fail('proof_ath', 'DPoP proof ath does not match the access token')
    }
  }
  return { jkt, jti: jti as string, iat: iat as number }
}

/** How long a claimed jti must be remembered: every second its proof's iat is still in the window, and one more. */
export const replayTtlMs = (windowS: number): number => (2 * windowS + 1) * 1000

/**
 * Claims the proof's jti for its key: true the first time, false for a replay. Throws when Redis
 * cannot answer; callers refuse the request then (fail closed: a proof that cannot be claimed is
 * never accepted).
 */
export async function claimProofJti (
  redis: RedisClient, prefix: string, proof: VerifiedProof, windowS: number
): Promise<boolean> {
  const id = createHash('sha256').update(proof.jti).digest('base64url')
  const set = await redis.set(`${prefix}dpop:jti:${proof.jkt}:${id}`, '1', 'PX', replayTtlMs(windowS), 'NX')
  return set === 'OK'
}

/** Every DPoP header of a request as received (section 4.3 step 1 wants exactly one). */
export function proofHeaders (rawHeaders: readonly string[]): string[] {
  const found: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length === 4 && name.toLowerCase() === DPOP_HEADER) found.push(rawHeaders[i + 1] as string)
  }
  return found
}
