/**
 * Pipeline stage 5a, find and pre-check the credential, before any crypto.
 *
 * - exactly one access token: the Bearer (or DPoP, RFC 9449 section 7.1) header, else the access cookie
 * - a compact JWS of canonical base64url segments under the size cap
 * - a JSON object header with alg RS256, a kid and typ at+jwt, handed on to fast-verify.ts
 * - anything else is a 401 with a stable reason, never a 500
 */
import { isUtf8 } from 'node:buffer'
import { COOKIES, ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP } from '../../../auth-service/src/contract.js'
import { invalidToken } from '../errors.js'
import { cookieValues } from './http.js'

const B64URL = /^[A-Za-z0-9_-]+$/
const MAX_KID_LENGTH = 256

const B64URL_VALUE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Unpadded base64url that decodes and re-encodes to itself (no decode + encode: this runs on
 * every verification): a length of 4n+1 loses its last character, and the last character of
 * 4n+2 / 4n+3 must leave its unused low 4 / 2 bits zero.
 */
export function isCanonicalB64url (segment: string): boolean {
  if (!B64URL.test(segment)) return false
  const rest = segment.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = B64URL_VALUE.indexOf(segment[segment.length - 1] as string)
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

export interface Credential {
  token: string
  source: 'header' | 'cookie'
  /** Sent as `Authorization: DPoP` (pipeline/dpop.ts then demands a proof); else Bearer or the cookie. */
  dpop?: true
}

/**
 * Finds the one access token of a request. `authorization` is every copy of the header
 * (node keeps only the first in `headers`: use `headersDistinct`).
 * Returns null when there is none at all (the caller decides whether that is an error).
 */
export function extractCredential (
  authorization: string[] | undefined, cookieHeader: string | undefined, maxBytes: number
): Credential | null {
  const values = cookieValues(cookieHeader, COOKIES.accessToken)
  const cookies = values.length > 1 ? [...new Set(values)] : values // copies of one value are one cookie
  if (cookies.length > 1) throw invalidToken('multiple_credentials', 'more than one access token cookie')
  const cookie = cookies[0]
  if (authorization && authorization.length > 1) {
    throw invalidToken('multiple_credentials', 'more than one Authorization header')
  }
  const header = authorization?.[0]
  if (header !== undefined) {
    if (header.length > maxBytes + 7) throw invalidToken('token_too_large', 'token too large')
    const match = /^(Bearer|DPoP) +([^\s]+) *$/i.exec(header)
    if (!match) {
      throw invalidToken('malformed_token', /^(Bearer|DPoP)\b/i.test(header)
        ? 'malformed Bearer credentials'
        : 'only the Bearer and DPoP schemes are accepted')
    }
    const token = match[2] as string
    if (cookie !== undefined && cookie !== token) {
      throw invalidToken('multiple_credentials', 'Authorization header and access cookie disagree')
    }
    return match[1]!.length === 4 ? { token, source: 'header', dpop: true } : { token, source: 'header' }
  }
  if (cookie !== undefined && cookie !== '') return { token: cookie, source: 'cookie' }
  return null
}

/**
 * Every Authorization header as received (what `headersDistinct.authorization` gives), read
 * from rawHeaders: headersDistinct copies all headers of the request on first use.
 */
export function authorizationHeaders (rawHeaders: readonly string[]): string[] | undefined {
  let out: string[] | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue
    (out ??= []).push(rawHeaders[i + 1] as string)
  }
  return out
}

/** The protected header of a token that passed the pre-check: a JSON object, its bytes valid UTF-8. */
export type TokenHeader = Readonly<Record<string, unknown>>

/** Strict structural check of a compact JWS access token. Returns its header, or throws a TokenDenial. */
export function precheckToken (token: string, maxBytes: number): TokenHeader {
  if (Buffer.byteLength(token) > maxBytes) throw invalidToken('token_too_large', 'token too large')
  const parts = token.split('.')
  if (parts.length !== 3) throw invalidToken('malformed_token', 'not a compact JWS (three segments)')
  const [h, p, s] = parts as [string, string, string]
  if (!isCanonicalB64url(h)) throw invalidToken('malformed_token', 'header segment is not canonical base64url')
  const bytes = Buffer.from(h, 'base64url')
  let header: unknown
  try { header = JSON.parse(bytes.toString('utf8')) } catch { header = undefined }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw invalidToken('malformed_token', 'header is not a JSON object')
  }
  const { alg, kid, typ } = header as Record<string, unknown>
  if (alg !== ACCESS_TOKEN_ALG) throw invalidToken('alg_not_allowed', 'alg not allowed')
  if (typeof typ !== 'string' || typ.toLowerCase() !== ACCESS_TOKEN_TYP) {
    throw invalidToken('claim_invalid', 'typ must be at+jwt')
  }
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw invalidToken('malformed_token', 'kid missing')
  }
  if (!isCanonicalB64url(p) || !isCanonicalB64url(s)) {
    throw invalidToken('malformed_token', 'segment is not canonical base64url')
  }
  // Last, as the verifiers find it first (jose decodes with a fatal TextDecoder): the same denial.
  if (!isUtf8(bytes)) throw invalidToken('malformed_token', 'malformed token')
  return header as TokenHeader
}
