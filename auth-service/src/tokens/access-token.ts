/**
 * Access tokens: RS256 JWTs with `kid` and `typ: at+jwt`, claims per contract.ts.
 * - The service verifies its own tokens (logout-all, sessions) against its own JWKS.
 * - `createAccessTokens` reads the keyring on every call, so a key reload needs nothing else.
 * - A DPoP-bound token (RFC 9449 section 6) carries `cnf: { jkt }`, the thumbprint of the client's key.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP, REQUIRED_CLAIMS, type AccessTokenClaims } from '../contract.js'
import type { KeyringHolder } from '../keys/holder.js'
import type { SigningKey } from '../keys/keyring.js'

export interface AccessTokenOptions {
  issuer: string
  audience: string
  /** Seconds. */
  ttl: number
}

export interface TokenSubject {
  sub: string
  sid: string
  roles: string[]
  /** The DPoP key thumbprint the token is bound to; none: a Bearer token. */
  jkt?: string
}

export interface AccessTokens {
  sign: (subject: TokenSubject) => Promise<string>
  /** Resolves the claims, or throws a jose error. */
  verify: (token: string) => Promise<AccessTokenClaims>
}

export function createAccessTokens (keys: KeyringHolder, opts: AccessTokenOptions): AccessTokens {
  const { issuer, audience } = opts
  return {
    sign: async (subject) => await signAccessToken(keys.current.active, opts, subject),
    verify: createAccessTokenVerifier(() => keys.current.keySet, { issuer, audience }),
  }
}

export async function signAccessToken (
  key: { kid: string, privateKey: SigningKey }, opts: AccessTokenOptions,
  subject: TokenSubject
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const cnf = subject.jkt === undefined ? {} : { cnf: { jkt: subject.jkt } }
  return await new SignJWT({ sid: subject.sid, roles: subject.roles, ...cnf })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(subject.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + opts.ttl)
    .setJti(randomUUID())
    .sign(key.privateKey)
}

/** `currentKeys` is read on every call, so a key reload needs no new verifier. */
export function createAccessTokenVerifier (
  currentKeys: () => JWTVerifyGetKey, opts: Omit<AccessTokenOptions, 'ttl'>
): (token: string) => Promise<AccessTokenClaims> {
  /** Resolves the claims, or throws a jose error. */
  return async function verifyAccessToken (token: string): Promise<AccessTokenClaims> {
    const { payload } = await jwtVerify(token, currentKeys(), {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms: [ACCESS_TOKEN_ALG],
      typ: ACCESS_TOKEN_TYP,
      requiredClaims: [...REQUIRED_CLAIMS],
    })
    if (typeof payload.sid !== 'string' || !Array.isArray(payload.roles)) throw new Error('sid or roles missing')
    return payload as unknown as AccessTokenClaims
  }
}
