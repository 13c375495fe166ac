/**
 * The bench's token material, made with node:crypto so the load generator can make it inside
 * autocannon's synchronous `setupRequest`: the access-token key pair and its JWKS and PEM,
 * access tokens as the auth service signs them (RS256, kid, typ at+jwt, the contract's claims),
 * optionally bound to a DPoP key (`cnf.jkt`), and DPoP proofs (RFC 9449 4.2: ES256, the public
 * JWK in the header, htm, htu, iat, a fresh jti, ath of the token), one per request.
 */
import {
  createHash, generateKeyPairSync, randomUUID, sign, type KeyObject,
} from 'node:crypto'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../auth-service/src/contract.js'
import { accessTokenHash } from '../../services/kernel/dpop.js'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

export interface TokenKit {
  kid: string
  jwks: string
  publicKeyPem: string
  /** An access token for `sub` (a new session id unless given), valid for an hour; claims, header overridable. */
  makeToken: (sub: string, opts?: {
    sid?: string,
    claims?: Record<string, unknown>,
    header?: Record<string, unknown>,
  }) => string
}

export function createTokenKit (kid = 'bench-1'): TokenKit {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const header = b64({ alg: 'RS256', kid, typ: 'at+jwt' })
  return {
    kid,
    jwks: JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] }),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
    makeToken (sub, opts = {}) {
      const now = Math.floor(Date.now() / 1000)
      const claims = {
        iss: DEFAULT_ISSUER,
        aud: DEFAULT_AUDIENCE,
        sub,
        sid: opts.sid ?? `sid-${randomUUID()}`,
        jti: randomUUID(),
        roles: ['user'],
        iat: now,
        exp: now + 3600,
        ...opts.claims,
      }
      const head = opts.header ? b64({ alg: 'RS256', kid, typ: 'at+jwt', ...opts.header }) : header
      const input = `${head}.${b64(claims)}`
      return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
    },
  }
}

export interface DpopProver {
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` of a token bound to it. */
  jkt: string
  /** A new proof (fresh jti, iat now) for one request with `accessToken`. */
  proof: (htm: string, htu: string, accessToken: string) => string
}

/** An ES256 DPoP key and a synchronous prover (ath hashes are remembered per token). */
export function createDpopProver (): DpopProver {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const { crv, x, y } = publicKey.export({ format: 'jwk' }) as { crv: string, x: string, y: string }
  const jwk = { kty: 'EC', crv, x, y }
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty: 'EC', x, y })).digest('base64url')
  const header = b64({ alg: 'ES256', typ: 'dpop+jwt', jwk })
  const athOf = new Map<string, string>()
  const key: KeyObject = privateKey
  return {
    jkt,
    proof (htm, htu, accessToken) {
      let ath = athOf.get(accessToken)
      if (ath === undefined) { ath = accessTokenHash(accessToken); athOf.set(accessToken, ath) }
      const input = `${header}.${b64({ htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath })}`
      const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      return `${input}.${signature.toString('base64url')}`
    },
  }
}
