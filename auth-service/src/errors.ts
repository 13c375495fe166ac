/**
 * The auth service's error catalogue (AUTH_ERR_*), and the public code each maps to: its own,
 * or else the one of its status.
 */
import createError from '@fastify/error'

export const InvalidRequestError = createError('AUTH_ERR_INVALID_REQUEST', '%s', 400)
export const WeakPasswordError = createError('AUTH_ERR_WEAK_PASSWORD', '%s', 400)
export const InvalidCredentialsError = createError('AUTH_ERR_INVALID_CREDENTIALS', 'Invalid email or password', 401)
export const InvalidRefreshTokenError = createError('AUTH_ERR_INVALID_REFRESH', 'Refresh token is missing, invalid or expired', 401)
export const RefreshReusedError = createError('AUTH_ERR_REFRESH_REUSED', 'Refresh token was already used; the session has been revoked', 401)
export const InvalidTokenError = createError('AUTH_ERR_INVALID_TOKEN', '%s', 401)
export const CsrfError = createError('AUTH_ERR_CSRF', 'Missing or wrong CSRF token', 403)
export const NotFoundError = createError('AUTH_ERR_NOT_FOUND', '%s', 404)
export const EmailTakenError = createError('AUTH_ERR_EMAIL_TAKEN', 'An account with this email already exists', 409)
export const RateLimitedError = createError('AUTH_ERR_RATE_LIMITED', 'Too many failed logins; try again in %d seconds', 429)

/** Internal code → public `error` code of the JSON body, where the status alone does not say it. */
export const PUBLIC_CODES: Record<string, string> = {
  AUTH_ERR_WEAK_PASSWORD: 'weak_password',
  AUTH_ERR_INVALID_CREDENTIALS: 'invalid_credentials',
  AUTH_ERR_INVALID_REFRESH: 'invalid_refresh_token',
  AUTH_ERR_REFRESH_REUSED: 'refresh_token_reused',
  AUTH_ERR_INVALID_TOKEN: 'invalid_token',
  AUTH_ERR_CSRF: 'csrf_failed',
  AUTH_ERR_EMAIL_TAKEN: 'email_taken',
}

/** Public codes by 4xx status for every other error (fastify's own 4xx included). */
export function publicCodeForStatus (status: number): string {
  if (status === 404) return 'not_found'
  if (status === 413) return 'payload_too_large'
  if (status === 415) return 'unsupported_media_type'
  if (status === 429) return 'rate_limited'
  return 'invalid_request'
}
