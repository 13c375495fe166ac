/**
 * The error table: every AUTH_ERR_* and every other kind of error the handler meets, to the
 * exact public body and headers (toPublicAuthError is pure: no app, no Redis).
 */
import t from 'tap'
import {
  AccountDisabledError, CsrfError, EmailTakenError, InsufficientScopeError, SelfDisableError,
  InvalidCredentialsError, InvalidRefreshTokenError, InvalidRequestError, InvalidTokenError,
  NotFoundError, PUBLIC_CODES, RefreshReusedError, WeakPasswordError, rateLimitedError, toPublicAuthError,
  type AuthErrorLike,
} from '../../src/errors.js'

interface Row {
  d: string
  err: AuthErrorLike
  redisUnavailable?: boolean
  status: number
  body: { error: string, message: string }
  headers?: Record<string, string>
}

const httpError = (statusCode: number, message: string, code?: string) =>
  Object.assign(new Error(message), { statusCode, code })

const rows: Row[] = [
  {
    d: 'a schema validation error is a 400 invalid_request that says what is wrong',
    err: Object.assign(httpError(400, 'body must have required property \'email\'', 'FST_ERR_VALIDATION'),
      { validation: [{}] }),
    status: 400,
    body: { error: 'invalid_request', message: 'body must have required property \'email\'' },
  },
  {
    d: 'AUTH_ERR_INVALID_REQUEST has no public code of its own: invalid_request by its status',
    err: new InvalidRequestError('email must be a valid email address'),
    status: 400,
    body: { error: 'invalid_request', message: 'email must be a valid email address' },
  },
  {
    d: 'AUTH_ERR_WEAK_PASSWORD is a 400 weak_password with the rule',
    err: new WeakPasswordError('Password must be 10 to 128 characters long (got 5)'),
    status: 400,
    body: { error: 'weak_password', message: 'Password must be 10 to 128 characters long (got 5)' },
  },
  {
    d: 'AUTH_ERR_INVALID_CREDENTIALS is a 401 with one message for a wrong password and an unknown email',
    err: new InvalidCredentialsError(),
    status: 401,
    body: { error: 'invalid_credentials', message: 'Invalid email or password' },
  },
  {
    d: 'AUTH_ERR_INVALID_REFRESH is a 401 invalid_refresh_token',
    err: new InvalidRefreshTokenError(),
    status: 401,
    body: { error: 'invalid_refresh_token', message: 'Refresh token is missing, invalid or expired' },
  },
  {
    d: 'AUTH_ERR_REFRESH_REUSED is a 401 that says the session was revoked',
    err: new RefreshReusedError(),
    status: 401,
    body: { error: 'refresh_token_reused', message: 'Refresh token was already used; the session has been revoked' },
  },
  {
    d: 'AUTH_ERR_INVALID_TOKEN is a 401 with an RFC 6750 challenge whose description cannot break the quotes',
    err: new InvalidTokenError('The "access" token is invalid or expired'),
    status: 401,
    body: { error: 'invalid_token', message: 'The "access" token is invalid or expired' },
    headers: {
      'www-authenticate':
        'Bearer error="invalid_token", error_description="The \'access\' token is invalid or expired"',
    },
  },
  {
    d: 'AUTH_ERR_CSRF is a 403 csrf_failed',
    err: new CsrfError(),
    status: 403,
    body: { error: 'csrf_failed', message: 'Missing or wrong CSRF token' },
  },
  {
    d: 'AUTH_ERR_ACCOUNT_DISABLED is a 403 account_disabled (login and refresh of a disabled account)',
    err: new AccountDisabledError(),
    status: 403,
    body: { error: 'account_disabled', message: 'This account is disabled' },
  },
  {
    d: 'AUTH_ERR_INSUFFICIENT_SCOPE is a 403 with the RFC 6750 insufficient_scope challenge, like the gateway\'s',
    err: new InsufficientScopeError('The admin role is required'),
    status: 403,
    body: { error: 'insufficient_scope', message: 'The admin role is required' },
    headers: {
      'www-authenticate': 'Bearer error="insufficient_scope", error_description="The admin role is required"',
    },
  },
  {
    d: 'AUTH_ERR_SELF_DISABLE is a 400 cannot_disable_self',
    err: new SelfDisableError(),
    status: 400,
    body: { error: 'cannot_disable_self', message: 'An admin cannot disable their own account' },
  },
  {
    d: 'AUTH_ERR_NOT_FOUND is a 404 not_found by its status',
    err: new NotFoundError('No such session'),
    status: 404,
    body: { error: 'not_found', message: 'No such session' },
  },
  {
    d: 'AUTH_ERR_EMAIL_TAKEN is a 409 email_taken',
    err: new EmailTakenError(),
    status: 409,
    body: { error: 'email_taken', message: 'An account with this email already exists' },
  },
  {
    d: 'AUTH_ERR_RATE_LIMITED is a 429 rate_limited whose Retry-After is the wait it names',
    err: rateLimitedError(42),
    status: 429,
    body: { error: 'rate_limited', message: 'Too many failed logins; try again in 42 seconds' },
    headers: { 'retry-after': '42' },
  },
  {
    d: 'Redis unavailable is a 503 with Retry-After 1 and no detail of the Redis error',
    err: new Error('connect ECONNREFUSED 127.0.0.1:6379'),
    redisUnavailable: true,
    status: 503,
    body: { error: 'service_unavailable', message: 'A backing store is unavailable; try again shortly' },
    headers: { 'retry-after': '1' },
  },
  {
    d: 'a catalogued error keeps its own answer even while Redis is down',
    err: new InvalidCredentialsError(),
    redisUnavailable: true,
    status: 401,
    body: { error: 'invalid_credentials', message: 'Invalid email or password' },
  },
  {
    d: 'fastify\'s 413 is payload_too_large',
    err: httpError(413, 'Request body is too large', 'FST_ERR_CTP_BODY_TOO_LARGE'),
    status: 413,
    body: { error: 'payload_too_large', message: 'Request body is too large' },
  },
  {
    d: 'fastify\'s 415 is unsupported_media_type',
    err: httpError(415, 'Unsupported Media Type: text/plain', 'FST_ERR_CTP_INVALID_MEDIA_TYPE'),
    status: 415,
    body: { error: 'unsupported_media_type', message: 'Unsupported Media Type: text/plain' },
  },
  {
    d: 'malformed JSON (a 400 with fastify\'s code) is invalid_request',
    err: httpError(400, 'Unexpected end of JSON input', 'FST_ERR_CTP_INVALID_JSON_BODY'),
    status: 400,
    body: { error: 'invalid_request', message: 'Unexpected end of JSON input' },
  },
  {
    d: 'an unknown 4xx that the table does not name is invalid_request with its own status and message',
    err: httpError(409, 'Conflict somewhere'),
    status: 409,
    body: { error: 'invalid_request', message: 'Conflict somewhere' },
  },
  {
    d: 'a plain Error is a 500 that tells nothing of it',
    err: new Error('secret internals at /app/auth-service/src/x.ts:12'),
    status: 500,
    body: { error: 'internal_error', message: 'Internal server error' },
  },
  {
    d: 'a 503 of unknown origin (not Redis) is still a plain 500',
    err: httpError(503, 'upstream thing down'),
    status: 500,
    body: { error: 'internal_error', message: 'Internal server error' },
  },
]

for (const row of rows) {
  t.test(row.d, async (t) => {
    const mapped = toPublicAuthError(row.err, { redisUnavailable: row.redisUnavailable ?? false })
    t.equal(mapped.statusCode, row.status, 'status')
    t.same(mapped.body, { ...row.body, statusCode: row.status }, 'body { error, message, statusCode }')
    t.same(mapped.headers, row.headers ?? {}, 'headers')
  })
}

t.test('every catalogued code maps to a lower-case public code', async (t) => {
  for (const [code, publicCode] of Object.entries(PUBLIC_CODES)) {
    t.match(code, /^AUTH_ERR_[A-Z_]+$/)
    t.match(publicCode, /^[a-z_]+$/)
  }
})
