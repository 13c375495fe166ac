/**
 * Differential test: the node:crypto fast path (fast-verify.ts) against jose's jwtVerify,
 * the reference, on a corpus of valid and hostile tokens plus seeded random mutations of
 * valid ones. Both run behind the same strict pre-check, the same key resolver and the
 * same claim checks (createAuthenticator), and must agree on accept/reject, the denial
 * reason and message, and on accept the identity (and, verifier to verifier, the payload).
 */
import t from 'tap'
import { KeyObject, createHmac, generateKeyPairSync, sign } from 'node:crypto'
import { exportJWK, exportSPKI, importJWK, jwtVerify, type CryptoKey, type JWSHeaderParameters } from 'jose'
import {
  ACCESS_TOKEN_ALG,
  ACCESS_TOKEN_TYP,
  DEFAULT_AUDIENCE,
  DEFAULT_ISSUER,
  REQUIRED_CLAIMS,
} from '../../../auth-service/src/contract.js'
import { invalidToken } from '../../src/errors.js'
import { createAuthenticator, mapVerifyError } from '../../src/pipeline/authenticate.js'
import { precheckToken, type TokenHeader } from '../../src/pipeline/credentials.js'
import { createFastVerifier } from '../../src/pipeline/fast-verify.js'
import { createSigner, signToken, type Signer } from '../../../scripts/testing/jwt.js'

const MAX = 8192
const TOLERANCE = 5
const signer = await createSigner('main')
const other = await createSigner('main') // same kid, another key
const stranger = await createSigner('stranger') // kid not held
const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
const weakJwk = { ...await exportJWK(weak.publicKey), kid: 'weak', alg: 'RS256' }

// The key store's view: keys imported from JWKs, as key-store.ts does.
const held = new Map<string, CryptoKey>([
  ['main', await importJWK({ ...signer.jwk }, 'RS256') as CryptoKey],
  ['weak', await importJWK(weakJwk, 'RS256') as CryptoKey],
])
async function getKey (header: JWSHeaderParameters): Promise<CryptoKey> {
  const key = held.get(header.kid as string)
  if (!key) throw invalidToken('no_matching_key', 'no key matches the token kid')
  return key
}

const common = {
  issuer: DEFAULT_ISSUER,
  audience: DEFAULT_AUDIENCE,
  clockToleranceS: TOLERANCE,
  maxTokenBytes: MAX,
  getKey,
  isRevoked: () => false,
}
const fastAuth = createAuthenticator({ ...common, verifyImplementation: 'fast' })
const joseAuth = createAuthenticator({ ...common, verifyImplementation: 'jose' })
const fastVerify = createFastVerifier({
  issuer: DEFAULT_ISSUER,
  audience: DEFAULT_AUDIENCE,
  clockToleranceS: TOLERANCE,
  requiredClaims: REQUIRED_CLAIMS,
  getKey,
})
const joseOptions = {
  algorithms: [ACCESS_TOKEN_ALG],
  issuer: DEFAULT_ISSUER,
  audience: DEFAULT_AUDIENCE,
  typ: ACCESS_TOKEN_TYP,
  requiredClaims: [...REQUIRED_CLAIMS],
  clockTolerance: TOLERANCE,
}

type Outcome = { ok: true, value: unknown } | { ok: false, error: string }

async function outcome (fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() }
  } catch (err) {
    const e = err as { name?: string, code?: string, reason?: string, message?: string, statusCode?: number }
    return { ok: false, error: `${e.name}|${e.code}|${e.reason}|${e.statusCode}|${e.message}` }
  }
}

// ---- token makers -------------------------------------------------------------------------
const now = () => Math.floor(Date.now() / 1000)
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url')
const json = (v: unknown) => b64(JSON.stringify(v))
const privateOf = (s: Signer) => KeyObject.from(s.privateKey as unknown as Parameters<typeof KeyObject.from>[0])
/** Signs raw segment bytes: any header/payload text at all, duplicate keys and bad UTF-8 included. */
function signRaw (header: string | Buffer, payload: string | Buffer, key: KeyObject = privateOf(signer)): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`
}
const H = (extra: Record<string, unknown> = {}) => JSON.stringify({
  alg: 'RS256', typ: 'at+jwt', kid: 'main', ...extra
})
const claims = (extra: Record<string, unknown> = {}, omit: string[] = []) => {
  const c: Record<string, unknown> = {
    iss: DEFAULT_ISSUER,
    aud: DEFAULT_AUDIENCE,
    sub: 'user-1',
    sid: 'sid-1',
    jti: 'jti-1',
    roles: ['user'],
    iat: now() - 10,
    exp: now() + 600,
    ...extra,
  }
  for (const k of omit) delete c[k]
  return JSON.stringify(c)
}
const P = claims

const valid = await signToken(signer)
const [vh, vp, vs] = valid.split('.') as [string, string, string]
const pem = await exportSPKI(signer.publicKey)
const hsHeader = json({ alg: 'HS256', typ: 'at+jwt', kid: 'main' })
const sigBytes = Buffer.from(vs, 'base64url')

const corpus: Array<[string, string]> = [
  ['valid (jose SignJWT)', valid],
  ['valid (raw signing)', signRaw(H(), P())],
  ['valid, aud an array holding ours', signRaw(H(), P({ aud: ['urn:x', DEFAULT_AUDIENCE] }))],
  ['aud an array without ours', signRaw(H(), P({ aud: ['urn:x'] }))],
  ['aud an empty array', signRaw(H(), P({ aud: [] }))],
  ['aud a number', signRaw(H(), P({ aud: 5 }))],
  ['aud missing', signRaw(H(), P({}, ['aud']))],
  ['alg none', `${json({ alg: 'none', typ: 'at+jwt', kid: 'main' })}.${vp}.`],
  ['alg none with a signature', `${json({ alg: 'none', typ: 'at+jwt', kid: 'main' })}.${vp}.${vs}`],
  [
    'HS256 with the public key as secret',
    `${hsHeader}.${vp}.${createHmac('sha256', pem).update(`${hsHeader}.${vp}`).digest('base64url')}`,
  ],
  ['RS384', signRaw(H({ alg: 'RS384' }), P())],
  ['alg lower case', signRaw(H({ alg: 'rs256' }), P())],
  ['alg missing', signRaw(JSON.stringify({ typ: 'at+jwt', kid: 'main' }), P())],
  ['alg empty', signRaw(H({ alg: '' }), P())],
  ['wrong iss', signRaw(H(), P({ iss: 'urn:evil' }))],
  ['iss an array holding ours', signRaw(H(), P({ iss: [DEFAULT_ISSUER] }))],
  ['iss missing', signRaw(H(), P({}, ['iss']))],
  ['typ JWT', signRaw(H({ typ: 'JWT' }), P())],
  ['typ upper case AT+JWT', signRaw(H({ typ: 'AT+JWT' }), P())],
  ['typ application/at+jwt', signRaw(H({ typ: 'application/at+jwt' }), P())],
  ['typ missing', signRaw(JSON.stringify({ alg: 'RS256', kid: 'main' }), P())],
  ['typ a number', signRaw(H({ typ: 7 }), P())],
  ['expired beyond tolerance', signRaw(H(), P({ iat: now() - 1000, exp: now() - 60 }))],
  ['expired within tolerance', signRaw(H(), P({ iat: now() - 1000, exp: now() - 2 }))],
  ['exp a numeric string', signRaw(H(), P({ exp: String(now() + 600) }))],
  ['exp null', signRaw(H(), P({ exp: null }))],
  ['exp boolean', signRaw(H(), P({ exp: true }))],
  ['exp missing', signRaw(H(), P({}, ['exp']))],
  ['exp huge (1e400 is Infinity)', signRaw(H(), P().replace(/"exp":\d+/, '"exp":1e400'))],
  ['exp fractional', signRaw(H(), P({ exp: now() + 600.5 }))],
  ['nbf in the future', signRaw(H(), P({ nbf: now() + 600 }))],
  ['nbf within tolerance', signRaw(H(), P({ nbf: now() + 2 }))],
  ['nbf in the past', signRaw(H(), P({ nbf: now() - 60 }))],
  ['nbf a string', signRaw(H(), P({ nbf: '0' }))],
  ['nbf null', signRaw(H(), P({ nbf: null }))],
  ['iat in the future', signRaw(H(), P({ iat: now() + 600, exp: now() + 1500 }))],
  ['iat within tolerance', signRaw(H(), P({ iat: now() + 2 }))],
  ['iat a string', signRaw(H(), P({ iat: String(now()) }))],
  ['iat null', signRaw(H(), P({ iat: null }))],
  ['iat fractional', signRaw(H(), P({ iat: now() - 0.5 }))],
  ...REQUIRED_CLAIMS.map((c): [string, string] => [`missing ${c}`, signRaw(H(), P({}, [c]))]),
  ['sub a number', signRaw(H(), P({ sub: 5 }))],
  ['sub with a newline', signRaw(H(), P({ sub: 'a\nb' }))],
  ['sub non-ASCII', signRaw(H(), P({ sub: 'ü' }))],
  ['roles a string', signRaw(H(), P({ roles: 'admin' }))],
  ['roles with a comma', signRaw(H(), P({ roles: ['user,admin'] }))],
  ['roles empty', signRaw(H(), P({ roles: [] }))],
  ['jti empty', signRaw(H(), P({ jti: '' }))],
  ['sid an object', signRaw(H(), P({ sid: { a: 1 } }))],
  [
    'signature of another token',
    `${vh}.${vp}.${(await signToken(signer, { claims: { sub: 'user-2' } })).split('.')[2]}`,
  ],
  ['signed by another key under the same kid', await signToken(other)],
  ['a kid not held', await signToken(stranger)],
  ['an RSA-1024 key', signRaw(H({ kid: 'weak' }), P(), weak.privateKey)],
  ['signature truncated by a byte', `${vh}.${vp}.${sigBytes.subarray(1).toString('base64url')}`],
  [
    'signature with a leading zero byte',
    `${vh}.${vp}.${Buffer.concat([Buffer.from([0]), sigBytes]).toString('base64url')}`,
  ],
  ['signature all zeros', `${vh}.${vp}.${Buffer.alloc(256).toString('base64url')}`],
  ['signature one byte', `${vh}.${vp}.AA`],
  ['signature empty', `${vh}.${vp}.`],
  ['crit b64 with b64 false', signRaw(H({ crit: ['b64'], b64: false }), P())],
  ['crit b64 with b64 true', signRaw(H({ crit: ['b64'], b64: true }), P())],
  ['crit b64 without b64', signRaw(H({ crit: ['b64'] }), P())],
  ['crit b64 with b64 a string', signRaw(H({ crit: ['b64'], b64: 'false' }), P())],
  ['crit b64 twice', signRaw(H({ crit: ['b64', 'b64'], b64: true }), P())],
  ['crit an unknown extension', signRaw(H({ crit: ['exp'], exp: 1 }), P())],
  ['crit empty', signRaw(H({ crit: [] }), P())],
  ['crit not an array', signRaw(H({ crit: 'b64', b64: true }), P())],
  ['crit with an empty name', signRaw(H({ crit: [''] }), P())],
  ['crit null', signRaw(H({ crit: null }), P())],
  ['b64 false without crit (ignored)', signRaw(H({ b64: false }), P())],
  ['extra segment', `${valid}.x`],
  ['two extra segments', `${valid}.${vs}.${vs}`],
  ['two segments', `${vh}.${vp}`],
  ['empty header segment', `.${vp}.${vs}`],
  ['empty payload segment', `${vh}..${vs}`],
  ['padding in the header', `${vh}=.${vp}.${vs}`],
  ['padding in the signature', `${vh}.${vp}.${vs}==`],
  ['standard base64 characters', `${vh}.${vp.replace(/-/g, '+').replace(/_/g, '/')}x+/.${vs}`],
  ['non-canonical trailing bits in the signature', `${vh}.${vp}.${vs.slice(0, -1)}${vs.endsWith('A') ? 'B' : 'A'}`],
  ['whitespace inside', `${vh}.${vp} .${vs}`],
  ['huge token over MAX_TOKEN_BYTES', await signToken(signer, { claims: { pad: 'x'.repeat(9000) } })],
  ['large but allowed header', signRaw(H({ pad: 'y'.repeat(3000) }), P())],
  ['duplicate claim keys (last sub wins)', signRaw(H(), P().replace('{', '{"sub":"first",'))],
  ['duplicate alg keys (none then RS256)', signRaw(H().replace('{', '{"alg":"none",'), P())],
  ['duplicate alg keys (RS256 then none)', signRaw(H().replace('}', ',"alg":"none"}'), P())],
  ['__proto__ in the payload', signRaw(H(), P().replace('{', '{"__proto__":{"sub":"x"},'))],
  ['__proto__ in the header', signRaw(H().replace('{', '{"__proto__":{"alg":"none"},'), P())],
  ['payload not JSON', signRaw(H(), 'not json')],
  ['payload a JSON array', signRaw(H(), '[1,2]')],
  ['payload a JSON string', signRaw(H(), '"x"')],
  ['payload null', signRaw(H(), 'null')],
  ['payload with a UTF-8 BOM', signRaw(H(), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(P())]))],
  [
    'payload with invalid UTF-8',
    signRaw(
      H(),
      Buffer.concat(
        [Buffer.from(P().slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]
      )
    ),
  ],
  [
    'header with invalid UTF-8 in the kid',
    signRaw(
      Buffer.concat([Buffer.from('{"alg":"RS256","typ":"at+jwt","kid":"ma'), Buffer.from([0xc3]), Buffer.from('"}')]),
      P()
    ),
  ],
  [
    'payload with two BOMs',
    signRaw(H(), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from(P())])),
  ],
  [
    'payload with an overlong UTF-8 sequence',
    signRaw(
      H(),
      Buffer.concat(
        [Buffer.from(P().slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]
      )
    ),
  ],
  [
    'payload with an encoded surrogate',
    signRaw(
      H(),
      Buffer.concat(
        [Buffer.from(P().slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]
      )
    ),
  ],
  ['payload with valid 4-byte UTF-8', signRaw(H(), P({ note: '😀' }))],
  ['header with a UTF-8 BOM', signRaw(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(H())]), P())],
  ['header a JSON array', signRaw('[1]', P())],
  ['header kid a number', signRaw(H({ kid: 5 }), P())],
  ['header with a jku pointing elsewhere (ignored)', signRaw(H({ jku: 'https://evil.example/jwks' }), P())],
  ['header with an embedded jwk (ignored)', signRaw(H({ jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }), P())],
  ['payload with extra unknown claims', signRaw(H(), P({ admin: true, roles: ['user'] }))],
  ['payload with unicode escapes', signRaw(H(), P().replace('"sub":"user-1"', '"sub":"\\u0075ser-1"'))],
  ['exp exactly now minus tolerance', signRaw(H(), P({ exp: now() - TOLERANCE - 30 }))],
]

// Seeded random mutations of valid tokens: flipped characters, truncations, splices.
function prng (seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}
const rand = prng(6)
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ '
const bases = [valid, signRaw(H(), P({ aud: [DEFAULT_AUDIENCE] })), signRaw(H({ crit: ['b64'], b64: true }), P())]
for (let i = 0; i < 400; i++) {
  const base = bases[i % bases.length] as string
  let m = base
  const kind = Math.floor(rand() * 4)
  if (kind === 0) {
    for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
      const at = Math.floor(rand() * m.length)
      m = m.slice(0, at) + ALPHABET[Math.floor(rand() * ALPHABET.length)] + m.slice(at + 1)
    }
  } else if (kind === 1) {
    m = m.slice(0, Math.floor(rand() * m.length))
  } else if (kind === 2) {
    const [h, p, s] = m.split('.') as [string, string, string]
    const [h2, p2, s2] = (bases[(i + 1) % bases.length] as string).split('.') as [string, string, string]
    m = [[h2, p, s], [h, p2, s], [h, p, s2]][Math.floor(rand() * 3)]!.join('.')
  } else {
    // Flip one bit of one decoded segment and re-encode canonically.
    const parts = m.split('.')
    const which = Math.floor(rand() * 3)
    const bytes = Buffer.from(parts[which] as string, 'base64url')
    const at = Math.floor(rand() * bytes.length)
    bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(rand() * 8))
    parts[which] = bytes.toString('base64url')
    m = parts.join('.')
  }
  corpus.push([`mutation ${i} (kind ${kind})`, m])
}

t.test('fast path and jose decide every token of the corpus the same way', async (t) => {
  let accepted = 0
  let rejected = 0
  for (const [d, token] of corpus) {
    const input = { authorization: [`Bearer ${token}`], cookie: undefined }
    const [fast, jose] = await Promise.all([outcome(() => fastAuth(input)), outcome(() => joseAuth(input))])
    t.same(fast, jose, d)
    if (fast.ok) accepted++
    else rejected++
  }
  t.ok(accepted >= 20, `accepted ${accepted} tokens`)
  t.ok(rejected >= 400, `rejected ${rejected} tokens`)
})

t.test('verifier to verifier: same payload on accept, same denial on reject', async (t) => {
  let compared = 0
  for (const [d, token] of corpus) {
    let prechecked: TokenHeader
    try { prechecked = precheckToken(token, MAX) } catch { continue } // both sit behind the pre-check
    compared++
    const fastOf = (header?: TokenHeader) => outcome(async () => {
      const v = await fastVerify(token, header)
      return { payload: v.payload, header: v.protectedHeader, key: v.key }
    })
    const fast = await fastOf(prechecked)
    t.same(await fastOf(), fast, `${d}: the pre-check's header and the verifier's own parse agree`)
    const jose = await outcome(async () => {
      try {
        const v = await jwtVerify(token, getKey, joseOptions)
        return { payload: v.payload, header: v.protectedHeader, key: (v as unknown as { key: unknown }).key }
      } catch (err) { throw mapVerifyError(err) }
    })
    t.same(fast, jose, d)
    if (
      fast.ok && jose.ok
    ) t.equal((fast.value as { key: unknown }).key, (jose.value as { key: unknown }).key, `${d}: same key object`)
  }
  t.ok(compared > 100, `${compared} tokens got past the pre-check`)
})

t.test('the corpus exercises the interesting outcomes', async (t) => {
  const reasons = new Set<string>()
  for (const [, token] of corpus) {
    const r = await outcome(() => fastAuth({ authorization: [`Bearer ${token}`], cookie: undefined }))
    reasons.add(r.ok ? 'accepted' : (r.error.split('|')[2] as string))
  }
  for (
    const reason of [
      'accepted',
      'malformed_token',
      'bad_signature',
      'token_expired',
      'token_not_yet_valid',
      'claim_invalid',
      'alg_not_allowed',
      'no_matching_key',
      'token_too_large',
    ]
  ) {
    t.ok(reasons.has(reason), `some token ends in ${reason}`)
  }
})
