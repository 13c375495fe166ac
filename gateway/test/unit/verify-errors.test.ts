import t from 'tap'
import { errors } from 'jose'
import { checkClaims, mapVerifyError } from '../../src/pipeline/authenticate.js'
import { invalidToken, toPublicError } from '../../src/errors.js'

t.test('mapVerifyError: jose error codes to stable reasons', async (t) => {
  const payload = { iat: 1 }
  const cases: Array<[Error, string]> = [
    [new errors.JWTExpired('x', payload), 'token_expired'],
    [new errors.JWSSignatureVerificationFailed(), 'bad_signature'],
    [new errors.JOSEAlgNotAllowed('x'), 'alg_not_allowed'],
    [new errors.JWKSNoMatchingKey(), 'no_matching_key'],
    [new errors.JWTClaimValidationFailed('x', payload, 'nbf'), 'token_not_yet_valid'],
    [new errors.JWTClaimValidationFailed('x', payload, 'iss'), 'claim_invalid'],
    [new errors.JWSInvalid('x'), 'malformed_token'],
    [new errors.JWTInvalid('x'), 'malformed_token'],
  ]
  for (
    const [err, reason] of cases
  ) t.equal(mapVerifyError(err).reason, reason, `${(err as unknown as { code: string }).code} -> ${reason}`)
  const ours = invalidToken('revoked', 'x')
  t.equal(mapVerifyError(ours), ours, 'our own denials pass through')
  t.throws(() => mapVerifyError(new TypeError('bug')), TypeError, 'anything else is not hidden as a 401')
})

t.test('checkClaims', async (t) => {
  const ok = { sub: 'u1', sid: 's1', jti: 'j1', roles: ['user'], iat: 1000, exp: 2000 }
  t.same(checkClaims(ok, 1000, 5).identity, { subject: 'u1', roles: ['user'], session: 's1' })
  const bad: Array<[string, Record<string, unknown>]> = [
    ['sub not a string', { ...ok, sub: 5 }],
    ['sub with a newline', { ...ok, sub: 'a\nb' }],
    ['sid missing', { ...ok, sid: undefined }],
    ['jti empty', { ...ok, jti: '' }],
    ['roles not an array', { ...ok, roles: 'admin' }],
    ['a role not a string', { ...ok, roles: [1] }],
    ['a role with a comma', { ...ok, roles: ['a,b'] }],
    ['iat in the future beyond tolerance', { ...ok, iat: 1006 }],
  ]
  for (const [d, claims] of bad) {
    let reason: string | undefined
    try { checkClaims(claims, 1000, 5) } catch (err) { reason = (err as { reason?: string }).reason }
    t.equal(reason, 'claim_invalid', d)
  }
  t.doesNotThrow(() => checkClaims({ ...ok, iat: 1005 }, 1000, 5), 'iat within tolerance')
})

t.test('toPublicError', async (t) => {
  t.same(toPublicError(invalidToken('revoked', 'token revoked')).body, {
    error: 'invalid_token', message: 'token revoked', statusCode: 401
  })
  t.same(toPublicError(new Error('secret internals')), {
    statusCode: 500, body: { error: 'internal_error', message: 'Internal server error', statusCode: 500 }
  })
  t.equal(
    toPublicError({ code: 'FST_REPLY_FROM_GATEWAY_TIMEOUT', statusCode: 504, message: 'x' }).body.error,
    'gateway_timeout'
  )
  t.equal(
    toPublicError({ code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', statusCode: 500, message: 'x' }).body.error,
    'bad_gateway'
  )
  t.equal(
    toPublicError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413, message: 'x' }).body.error, 'payload_too_large'
  )
  t.equal(toPublicError({ statusCode: 400, message: 'bad' }).body.error, 'invalid_request')
})
