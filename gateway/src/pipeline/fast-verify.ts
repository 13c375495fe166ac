/**
 * Pipeline stage 5c, fast path: RS256 verification with node:crypto instead of jose's WebCrypto
 * path (no thread-pool hop per token, about 2-4x the throughput).
 *
 * - the same header and claim checks jose's `jwtVerify` makes with the gateway's options, in
 *   jose's order, ending in the same denial reasons and messages `mapVerifyError` gives for jose's
 * - runs only after `precheckToken` (credentials.ts) accepted the token, and takes the header it
 *   parsed: three canonical base64url segments, a JSON object header with alg RS256, typ at+jwt, a kid
 * - jose stays the reference (VERIFY_IMPLEMENTATION=jose); the two are differentially tested
 *   on valid and hostile tokens (gateway/test/unit/fast-verify-diff.test.ts)
 * @see node_modules/jose/dist/webapi/lib/jws_verify.js, lib/jwt_claims_set.js (jose 6.2)
 */
import { isUtf8 } from 'node:buffer'
import { KeyObject, verify as cryptoVerify } from 'node:crypto'
import type { CryptoKey, JWSHeaderParameters, JWTPayload } from 'jose'
import { ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP } from '../../../auth-service/src/contract.js'
import { invalidToken } from '../errors.js'
import type { TokenHeader } from './credentials.js'

export interface FastVerifyOptions {
  issuer: string
  /** One audience, or several (the token's `aud` must name one of them). */
  audience: string | readonly string[]
  clockToleranceS: number
  requiredClaims: readonly string[]
  /** The key store's resolver (the same one jose gets). */
  getKey: (header: JWSHeaderParameters) => Promise<CryptoKey>
}

export interface Verified {
  payload: JWTPayload
  protectedHeader: JWSHeaderParameters
  /** The key that verified it (the key store's object: the token cache compares it later). */
  key: CryptoKey
}

/** `header`: what precheckToken returned for this token; parsed here when absent. */
export type VerifyToken = (token: string, header?: TokenHeader) => Promise<Verified>

/** jose's JWS_RECOGNIZED: the only extension it understands. */
const RECOGNIZED_CRIT = new Set(['b64'])

const malformed = () => invalidToken('malformed_token', 'malformed token')
const claimInvalid = (claim: string) => claim === 'nbf'
  ? invalidToken('token_not_yet_valid', 'token not yet valid')
  : invalidToken('claim_invalid', `claim ${claim} invalid`)

/** jose's isObject: a plain object (JSON.parse never makes anything else, but arrays are objects too). */
function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  if (Object.prototype.toString.call(value) !== '[object Object]') return false
  const proto = Object.getPrototypeOf(value)
  return proto === null || Object.getPrototypeOf(proto) === null
}

/**
 * jose decodes header and claims with `new TextDecoder('utf-8', { fatal: true })`: invalid
 * UTF-8 throws, a leading BOM is dropped. Same result, ~7x cheaper than that decoder in Node 20.
 */
function parseSegment (segment: string): unknown {
  const bytes = Buffer.from(segment, 'base64url')
  if (!isUtf8(bytes)) throw new TypeError('invalid UTF-8')
  const text = bytes.toString('utf8')
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
}

/** jose's validateCrit + validateB64 for a protected header only and no `crit` option. Returns b64. */
function checkCrit (header: Record<string, unknown>): boolean {
  const crit = header.crit
  if (crit === undefined) return true
  if (!Array.isArray(crit) || crit.length === 0) throw malformed()
  if (crit.some((p) => typeof p !== 'string' || p.length === 0)) throw malformed()
  for (const parameter of crit as string[]) {
    // Unknown extension (JOSENotSupported) and a missing one (JWSInvalid) both map to malformed_token.
    if (!RECOGNIZED_CRIT.has(parameter)) throw malformed()
    if (!Object.hasOwn(header, parameter) || header[parameter] === undefined) throw malformed()
  }
  if (crit.includes('b64')) {
    if (typeof header.b64 !== 'boolean') throw malformed()
    return header.b64
  }
  return true
}

const normalizeTyp = (value: string) => value.includes('/') ? value.toLowerCase() : `application/${value.toLowerCase()}`

/**
 * KeyObjects made once per CryptoKey from the key store (a JWKS refetch makes new CryptoKeys,
 * so a pruned key's entry goes with it). The checks are jose's prepareKey/checkCryptoKey/
 * checkModulusLength for RS256: their TypeErrors are bugs of the key store, not of the token.
 */
const keyObjects = new WeakMap<CryptoKey, KeyObject>()
export function keyObjectFor (key: CryptoKey): KeyObject {
  let found = keyObjects.get(key)
  if (found) return found
  const algorithm = key.algorithm as { name?: string, hash?: { name?: string }, modulusLength?: number }
  const unsupported = 'CryptoKey does not support this operation, its'
  if (key.type !== 'public') {
    throw new TypeError(`CryptoKey instances must be of type "public" for the ${ACCESS_TOKEN_ALG} algorithm`)
  }
  const RSA = 'RSASSA-PKCS1-v1_5'
  if (algorithm.name !== RSA) throw new TypeError(`${unsupported} algorithm.name must be ${RSA}`)
  if (algorithm.hash?.name !== 'SHA-256') throw new TypeError(`${unsupported} algorithm.hash must be SHA-256`)
  if (!key.usages.includes('verify')) throw new TypeError(`${unsupported} usages must include verify.`)
  if (typeof algorithm.modulusLength !== 'number' || algorithm.modulusLength < 2048) {
    throw new TypeError(`${ACCESS_TOKEN_ALG} requires key modulusLength to be 2048 bits or larger`)
  }
  found = KeyObject.from(key as unknown as Parameters<typeof KeyObject.from>[0])
  keyObjects.set(key, found)
  return found
}

export function createFastVerifier (opts: FastVerifyOptions): VerifyToken {
  const expectedTyp = normalizeTyp(ACCESS_TOKEN_TYP)
  // jose's presence-check order: the options' claims (iss, aud) first, then requiredClaims reversed.
  const presence = [...new Set([...opts.requiredClaims, 'aud', 'iss'].reverse())]
  // One audience (the usual case) is compared as before; several: any one of them.
  const audiences: readonly string[] = typeof opts.audience === 'string' ? [opts.audience] : opts.audience
  const one = audiences.length === 1 ? audiences[0] : undefined
  const isAudience = (a: unknown) => audiences.includes(a as string)

  return async function verifyToken (token: string, prechecked?: TokenHeader): Promise<Verified> {
    const dot1 = token.indexOf('.')
    const dot2 = token.indexOf('.', dot1 + 1)
    const p = token.slice(dot1 + 1, dot2)
    const s = token.slice(dot2 + 1)

    let header: unknown = prechecked
    if (header === undefined) {
      try { header = parseSegment(token.slice(0, dot1)) } catch { throw malformed() }
    }
    if (!isPlainObject(header)) throw malformed()
    const b64 = checkCrit(header)
    const alg = header.alg
    if (typeof alg !== 'string' || alg === '') throw malformed()
    if (alg !== ACCESS_TOKEN_ALG) throw invalidToken('alg_not_allowed', 'alg not allowed')

    const key = await opts.getKey(header as JWSHeaderParameters)
    const keyObject = keyObjectFor(key)
    let verified = false
    try {
      const signingInput = Buffer.from(token.slice(0, dot2), 'latin1')
      verified = cryptoVerify('RSA-SHA256', signingInput, keyObject, Buffer.from(s, 'base64url'))
    } catch {}
    if (!verified) throw invalidToken('bad_signature', 'signature verification failed')
    if (!b64) throw malformed() // jose: JWTs MUST NOT use unencoded payload

    let payload: unknown
    try { payload = parseSegment(p) } catch { throw malformed() }
    if (!isPlainObject(payload)) throw malformed()
    if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== expectedTyp) throw claimInvalid('typ')
    for (const claim of presence) if (!Object.hasOwn(payload, claim)) throw claimInvalid(claim)
    if (payload.iss !== opts.issuer) throw claimInvalid('iss')
    const aud = payload.aud
    const audOk = one !== undefined
      ? (typeof aud === 'string' ? aud === one : Array.isArray(aud) && aud.includes(one))
      : (typeof aud === 'string' ? audiences.includes(aud) : Array.isArray(aud) && aud.some(isAudience))
    if (!audOk) throw claimInvalid('aud')

    const now = Math.floor(Date.now() / 1000)
    const tolerance = opts.clockToleranceS
    if (payload.iat !== undefined && typeof payload.iat !== 'number') throw claimInvalid('iat')
    if (payload.nbf !== undefined) {
      if (typeof payload.nbf !== 'number') throw claimInvalid('nbf')
      if (payload.nbf > now + tolerance) throw claimInvalid('nbf')
    }
    if (payload.exp !== undefined) {
      if (typeof payload.exp !== 'number') throw claimInvalid('exp')
      if (payload.exp <= now - tolerance) throw invalidToken('token_expired', 'token expired')
    }
    return { payload: payload as JWTPayload, protectedHeader: header as JWSHeaderParameters, key }
  }
}
