/** toPublicError: the one error → public body mapping, one row per rule. */
import t from 'tap'
import { toPublicError, type ErrorLike, type PublicError } from '../public-error.js'

const OWN_CODES = { APP_ERR_TAKEN: 'email_taken', APP_ERR_TIMEOUT: 'upstream_slow' }

interface Row { d: string, err: ErrorLike, want: PublicError }

const body = (statusCode: number, error: string, message: string): PublicError =>
  ({ statusCode, body: { error, message, statusCode } })

const INTERNAL = body(500, 'internal_error', 'Internal server error')

const rows: Row[] = [
  {
    d: 'a code in the process\'s own table names the public code',
    err: { code: 'APP_ERR_TAKEN', statusCode: 409, message: 'email already registered' },
    want: body(409, 'email_taken', 'email already registered'),
  },
  {
    d: 'the own table wins over the status name',
    err: { code: 'APP_ERR_TIMEOUT', statusCode: 504, message: 'orders took too long' },
    want: body(504, 'upstream_slow', 'orders took too long'),
  },
  {
    d: 'Fastify\'s body limit is payload_too_large',
    err: { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413, message: 'Request body is too large' },
    want: body(413, 'payload_too_large', 'Request body is too large'),
  },
  {
    d: 'Fastify\'s media type error is unsupported_media_type',
    err: { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415, message: 'Unsupported Media Type' },
    want: body(415, 'unsupported_media_type', 'Unsupported Media Type'),
  },
  {
    d: 'the rate limiter\'s error is rate_limited',
    err: { code: 'FST_ERR_RATE_LIMIT', statusCode: 429, message: 'Rate limit exceeded' },
    want: body(429, 'rate_limited', 'Rate limit exceeded'),
  },
  {
    d: 'schema validation is invalid_request with the validator\'s message',
    err: { code: 'FST_ERR_VALIDATION', statusCode: 400, message: 'body must have property email' },
    want: body(400, 'invalid_request', 'body must have property email'),
  },
  {
    d: 'an unknown code is named by its status',
    err: { code: 'SOMETHING_ELSE', statusCode: 404, message: 'order not found' },
    want: body(404, 'not_found', 'order not found'),
  },
  {
    d: 'no code at all: named by its status',
    err: { statusCode: 403, message: 'no' },
    want: body(403, 'forbidden', 'no'),
  },
  {
    d: 'a 4xx with no name of its own is invalid_request',
    err: { statusCode: 418, message: 'teapot' },
    want: body(418, 'invalid_request', 'teapot'),
  },
  {
    d: 'an empty message becomes the public code',
    err: { statusCode: 409, message: '' },
    want: body(409, 'conflict', 'conflict'),
  },
  {
    d: 'a 500 never shows its message',
    err: { code: 'APP_ERR_TAKEN', statusCode: 500, message: 'password column missing' },
    want: INTERNAL,
  },
  {
    d: 'a 501 is hidden like any 5xx but 502-504',
    err: { statusCode: 501, message: 'Redis at 10.0.0.7 refused' },
    want: INTERNAL,
  },
  {
    d: 'a 502 keeps its message (it names no internals)',
    err: { statusCode: 502, message: 'upstream answered garbage' },
    want: body(502, 'bad_gateway', 'upstream answered garbage'),
  },
  {
    d: 'a 503 keeps its message',
    err: { statusCode: 503, message: 'keys not loaded yet' },
    want: body(503, 'service_unavailable', 'keys not loaded yet'),
  },
  {
    d: 'a 504 keeps its message',
    err: { statusCode: 504, message: 'upstream timed out' },
    want: body(504, 'gateway_timeout', 'upstream timed out'),
  },
  {
    d: 'no statusCode is a 500 (a plain thrown Error)',
    err: new Error('secret detail /etc/passwd'),
    want: INTERNAL,
  },
  {
    d: 'a status below 400 is a 500',
    err: { statusCode: 302, message: 'moved' },
    want: INTERNAL,
  },
  {
    d: 'a status above 599 is a 500',
    err: { statusCode: 600, message: 'odd' },
    want: INTERNAL,
  },
]

t.test('toPublicError', async (t) => {
  for (const row of rows) t.same(toPublicError(row.err, OWN_CODES), row.want, row.d)
})

t.test('toPublicError without a table of its own', async (t) => {
  t.same(toPublicError({ code: 'APP_ERR_TAKEN', statusCode: 409, message: 'x' }), body(409, 'conflict', 'x'))
  t.same(toPublicError({ code: 'FST_ERR_VALIDATION', statusCode: 400, message: 'bad' }),
    body(400, 'invalid_request', 'bad'))
})
