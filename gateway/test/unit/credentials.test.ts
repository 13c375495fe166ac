import t from 'tap'
import { extractCredential, precheckToken } from '../../src/pipeline/credentials.js'
import { cookieValues } from '../../src/pipeline/http.js'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const header = b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
const jws = `${header}.${b64({ sub: 'a' })}.c2lnbmF0dXJl`

function reasonOf (fn: () => unknown): string | undefined {
  try { fn() } catch (err) { return (err as { reason?: string }).reason }
  return undefined
}

t.test('extractCredential', async (t) => {
  t.equal(extractCredential(undefined, undefined, 8192), null, 'nothing at all')
  t.same(extractCredential(['Bearer abc'], undefined, 8192), { token: 'abc', source: 'header' })
  t.same(
    extractCredential(['bearer abc'], undefined, 8192), { token: 'abc', source: 'header' }, 'scheme is case-insensitive'
  )
  t.same(extractCredential(undefined, 'a=1; access_token=xyz', 8192), { token: 'xyz', source: 'cookie' })
  t.same(
    extractCredential(['Bearer xyz'], 'access_token=xyz', 8192),
    { token: 'xyz', source: 'header' },
    'same token twice is fine'
  )
  t.equal(reasonOf(() => extractCredential(['Bearer a', 'Bearer a'], undefined, 8192)), 'multiple_credentials')
  t.equal(reasonOf(() => extractCredential(['Bearer a'], 'access_token=b', 8192)), 'multiple_credentials')
  t.equal(reasonOf(() => extractCredential(undefined, 'access_token=a; access_token=b', 8192)), 'multiple_credentials')
  t.equal(reasonOf(() => extractCredential(['Basic abc'], undefined, 8192)), 'malformed_token')
  t.equal(reasonOf(() => extractCredential(['Bearer'], undefined, 8192)), 'malformed_token')
  t.equal(reasonOf(() => extractCredential(['Bearer a b'], undefined, 8192)), 'malformed_token')
  t.equal(reasonOf(() => extractCredential([`Bearer ${'a'.repeat(9000)}`], undefined, 8192)), 'token_too_large')
  t.same(cookieValues('x=1; access_token="q"; y=2', 'access_token'), ['q'], 'quoted cookie values')
})

t.test('precheckToken', async (t) => {
  t.equal(precheckToken(jws, 8192).kid, 'k1')
  const cases: Array<[string, string, string]> = [
    ['two segments', `${header}.${b64({})}`, 'malformed_token'],
    ['four segments', `${jws}.x`, 'malformed_token'],
    ['padding', `${header}=.${b64({})}.c2ln`, 'malformed_token'],
    ['standard base64 characters', `${header}.${b64({})}.ab+/`, 'malformed_token'],
    ['non-canonical trailing bits (YR, not YQ)', `${header}.${b64({})}.YR`, 'malformed_token'],
    ['header not JSON', `${Buffer.from('nope').toString('base64url')}.${b64({})}.c2ln`, 'malformed_token'],
    ['header an array', `${b64([1])}.${b64({})}.c2ln`, 'malformed_token'],
    ['alg none', `${b64({ alg: 'none', typ: 'at+jwt', kid: 'k' })}.${b64({})}.`, 'alg_not_allowed'],
    ['alg HS256', `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'k' })}.${b64({})}.c2ln`, 'alg_not_allowed'],
    ['typ JWT', `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k' })}.${b64({})}.c2ln`, 'claim_invalid'],
    ['no kid', `${b64({ alg: 'RS256', typ: 'at+jwt' })}.${b64({})}.c2ln`, 'malformed_token'],
    ['kid not a string', `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 7 })}.${b64({})}.c2ln`, 'malformed_token'],
    ['empty signature', `${header}.${b64({})}.`, 'malformed_token'],
    ['too large', `${header}.${'a'.repeat(9000)}.c2ln`, 'token_too_large'],
  ]
  for (const [d, token, reason] of cases) t.equal(reasonOf(() => precheckToken(token, 8192)), reason, d)
})
