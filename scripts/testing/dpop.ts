/**
 * DPoP keys and proofs for tests and the bench (RFC 9449 section 4.2): a real key pair (jose),
 * its thumbprint, and proofs with every field overridable so attack tests can break one at a time.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { accessTokenHash } from '../../services/kernel/dpop.js'

export interface DpopKey { alg: string, privateKey: CryptoKey, publicJwk: JWK, privateJwk: JWK, jkt: string }

export async function createDpopKey (alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const privateJwk = await exportJWK(privateKey)
  return { alg, privateKey, publicJwk, privateJwk, jkt: await calculateJwkThumbprint(publicJwk) }
}

export interface ProofOptions {
  htm: string
  htu: string
  /** Sets ath to its hash. */
  accessToken?: string
  /** Claims replacing or adding to the defaults (undefined removes one). */
  claims?: Record<string, unknown>
  /** Header members replacing the defaults (undefined removes one). */
  header?: Record<string, unknown>
}

export async function makeProof (key: DpopKey, opts: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: opts.htm,
    htu: opts.htu,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    ...(opts.accessToken === undefined ? {} : { ath: accessTokenHash(opts.accessToken) }),
    ...opts.claims,
  }
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
  const header: Record<string, unknown> = { alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...opts.header }
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name]
  return await new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
}

export const dpopAuthorization = (token: string): [string, string] => ['Authorization', `DPoP ${token}`]
export const dpopHeader = (proof: string): [string, string] => ['DPoP', proof]
