/**
 * The auth service's error catalogue (AUTH_ERR_*) and its one mapping to the public body.
 * - `PUBLIC_CODES`: internal code → public `error`, where the status alone does not say it.
 * - `toPublicAuthError`: pure; the body `{ error, message, statusCode }` of the kernel's
 *   `toPublicError`, plus the headers the contract asks for (WWW-Authenticate on invalid_token
 *   and insufficient_scope, Retry-After).
 */
import createError from '@fastify/error'
import { DPOP_ALGORITHMS } from '../../services/kernel/dpop.js'
import { toPublicError, type PublicError } from '../../services/kernel/public-error.js'

export const InvalidRequestError = createError('AUTH_ERR_INVALID_REQUEST', '%s', 400)
export const WeakPasswordError = createError('AUTH_ERR_WEAK_PASSWORD', '%s', 400)
export const InvalidCredentialsError = createError('AUTH_ERR_INVALID_CREDENTIALS', 'Invalid email or password', 401)
export const InvalidRefreshTokenError = createError('AUTH_ERR_INVALID_REFRESH',
  'Refresh token is missing, invalid or expired', 401)
export const RefreshReusedError = createError('AUTH_ERR_REFRESH_REUSED',
  'Refresh token was already used; the session has been revoked', 401)
export const InvalidTokenError = createError('AUTH_ERR_INVALID_TOKEN', '%s', 401)
export const InvalidDpopProofError = createError('AUTH_ERR_INVALID_DPOP_PROOF', '%s', 401)
export const CsrfError = createError('AUTH_ERR_CSRF', 'Missing or wrong CSRF token', 403)
export const AccountDisabledError = createError('AUTH_ERR_ACCOUNT_DISABLED', 'This account is disabled', 403)
export const InsufficientScopeError = createError('AUTH_ERR_INSUFFICIENT_SCOPE', '%s', 403)
export const SelfDisableError = createError('AUTH_ERR_SELF_DISABLE', 'An admin cannot disable their own account', 400)
export const NotFoundError = createError('AUTH_ERR_NOT_FOUND', '%s', 404)
export const EmailTakenError = createError('AUTH_ERR_EMAIL_TAKEN', 'An account with this email already exists', 409)
const RateLimited = createError('AUTH_ERR_RATE_LIMITED', 'Too many failed logins; try again in %d seconds', 429)

/** A refused login; `retryAfter` (seconds) becomes the Retry-After header. */
export function rateLimitedError (retryAfter: number): Error & { retryAfter: number } {
  return Object.assign(new RateLimited(retryAfter), { retryAfter })
}

/** Internal code → public `error` code of the JSON body, where the status alone does not say it. */
export const PUBLIC_CODES: Readonly<Record<string, string>> = Object.freeze({
  AUTH_ERR_WEAK_PASSWORD: 'weak_password',
  AUTH_ERR_INVALID_CREDENTIALS: 'invalid_credentials',
  AUTH_ERR_INVALID_REFRESH: 'invalid_refresh_token',
  AUTH_ERR_REFRESH_REUSED: 'refresh_token_reused',
  AUTH_ERR_INVALID_TOKEN: 'invalid_token',
  AUTH_ERR_INVALID_DPOP_PROOF: 'invalid_dpop_proof',
  AUTH_ERR_CSRF: 'csrf_failed',
  AUTH_ERR_ACCOUNT_DISABLED: 'account_disabled',
  AUTH_ERR_INSUFFICIENT_SCOPE: 'insufficient_scope',
  AUTH_ERR_SELF_DISABLE: 'cannot_disable_self',
  AUTH_ERR_EMAIL_TAKEN: 'email_taken',
})

/** Public codes by 4xx status for every other error (fastify's own 4xx included); else invalid_request. */
const BY_STATUS: Readonly<Record<number, string>> = Object.freeze({
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
})

export const REDIS_UNAVAILABLE_MESSAGE = 'A backing store is unavailable; try again shortly'

export interface AuthErrorLike {
  code?: string
  statusCode?: number
  message?: string
  validation?: unknown
  retryAfter?: number
}

export interface PublicAuthError extends PublicError {
  headers: Record<string, string>
}

/**
 * The reply to `err`, in this order: a validation error (400), a catalogued code, Redis
 * unavailable (503), any other 4xx (named by status), else 500 without details.
 */
export function toPublicAuthError (err: AuthErrorLike,
  { redisUnavailable }: { redisUnavailable: boolean }): PublicAuthError {
  const status = err.statusCode
  let mapped: PublicError
  if (err.validation) {
    mapped = toPublicError({ statusCode: 400, code: 'FST_ERR_VALIDATION', message: err.message })
  } else if (err.code !== undefined && PUBLIC_CODES[err.code] !== undefined) {
    mapped = toPublicError(err, PUBLIC_CODES)
  } else if (redisUnavailable) {
    mapped = toPublicError({ statusCode: 503, code: 'REDIS_UNAVAILABLE', message: REDIS_UNAVAILABLE_MESSAGE })
  } else if (status !== undefined && status >= 400 && status < 500) {
    mapped = toPublicError(err, { [err.code ?? '']: BY_STATUS[status] ?? 'invalid_request' })
  } else {
    mapped = toPublicError({})
  }
  return { ...mapped, headers: headersFor(mapped, err) }
}

function headersFor ({ statusCode, body }: PublicError, err: AuthErrorLike): Record<string, string> {
  const headers: Record<string, string> = {}
  const description = body.message.replaceAll('"', "'")
  if (body.error === 'invalid_token' || body.error === 'insufficient_scope') {
    headers['www-authenticate'] = `Bearer error="${body.error}", error_description="${description}"`
  }
  if (body.error === 'invalid_dpop_proof') {
    headers['www-authenticate'] =
      `DPoP error="invalid_dpop_proof", error_description="${description}", algs="${DPOP_ALGORITHMS.join(' ')}"`
  }
  if (statusCode === 503) headers['retry-after'] = '1'
  else if (typeof err.retryAfter === 'number') headers['retry-after'] = String(err.retryAfter)
  return headers
}
