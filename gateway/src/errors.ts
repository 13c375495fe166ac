/**
 * The gateway's error catalogue (GW_ERR_*, @fastify/error) and its mapping to the public
 * JSON body `{ error, message }` of the contract. Denials carry a stable `reason` for logs
 * and metrics; the public body never does more than name the public code.
 */
import createError, { type FastifyError } from '@fastify/error'

/** Stable, machine-readable reasons a request is denied (logs and metrics). */
export type DenialReason =
  | 'missing_token' | 'malformed_token' | 'token_too_large' | 'multiple_credentials'
  | 'token_expired' | 'token_not_yet_valid' | 'bad_signature' | 'no_matching_key'
  | 'claim_invalid' | 'alg_not_allowed' | 'revoked' | 'role_missing' | 'keys_unavailable'

// Access-token problems: all 401 invalid_token with WWW-Authenticate (RFC 6750).
export const InvalidTokenError = createError('GW_ERR_INVALID_TOKEN', '%s', 401)
export const InsufficientScopeError = createError('GW_ERR_INSUFFICIENT_SCOPE', '%s', 403)
// Not the client's fault: the keys cannot be trusted any more (auth service down too long).
export const KeysUnavailableError = createError('GW_ERR_KEYS_UNAVAILABLE', 'Signing keys are unavailable, try again later', 503)
export const NotFoundError = createError('GW_ERR_NOT_FOUND', 'Route %s %s not found', 404)
export const BadGatewayError = createError('GW_ERR_BAD_GATEWAY', 'The upstream service failed to answer', 502)
export const GatewayTimeoutError = createError('GW_ERR_GATEWAY_TIMEOUT', 'The upstream service did not answer in time', 504)
export const RouteTableError = createError('GW_ERR_ROUTE_TABLE', 'Invalid route table: %s', 500)
// Browser protections (browser/*.ts).
export const CsrfError = createError('GW_ERR_CSRF', '%s', 403)
export const RateLimitedError = createError('GW_ERR_RATE_LIMITED', 'Too many requests, retry in %s', 429)

export interface DenialError extends FastifyError {
  reason: DenialReason
}

export function invalidToken (reason: DenialReason, description: string): DenialError {
  return Object.assign(new InvalidTokenError(description), { reason })
}

export function insufficientScope (description: string): DenialError {
  return Object.assign(new InsufficientScopeError(description), { reason: 'role_missing' as const })
}

export function keysUnavailable (): DenialError {
  return Object.assign(new KeysUnavailableError(), { reason: 'keys_unavailable' as const })
}

export function isDenial (err: unknown): err is DenialError {
  // jose errors have a `reason` too: only our own GW_ERR_* errors count.
  if (typeof err !== 'object' || err === null) return false
  const { code, reason } = err as { code?: unknown, reason?: unknown }
  return typeof code === 'string' && code.startsWith('GW_ERR_') && typeof reason === 'string'
}

const BY_CODE: Record<string, string> = {
  GW_ERR_INVALID_TOKEN: 'invalid_token',
  GW_ERR_INSUFFICIENT_SCOPE: 'insufficient_scope',
  GW_ERR_KEYS_UNAVAILABLE: 'service_unavailable',
  GW_ERR_NOT_FOUND: 'not_found',
  GW_ERR_BAD_GATEWAY: 'bad_gateway',
  GW_ERR_GATEWAY_TIMEOUT: 'gateway_timeout',
  GW_ERR_CSRF: 'csrf_failed',
  GW_ERR_RATE_LIMITED: 'rate_limited',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_RATE_LIMIT: 'rate_limited',
}

const BY_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'invalid_token',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
}

export interface PublicError {
  statusCode: number
  body: { error: string, message: string, statusCode: number }
}

/** Maps any error to the status and public body. 5xx (other than 502-504) never expose the message. */
export function toPublicError (err: { code?: string, statusCode?: number, message?: string }): PublicError {
  let statusCode = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
  // Rewrites of reply-from's own errors: upstream failures are 502, upstream timeouts 504.
  const code = err.code ?? ''
  if (code.startsWith('FST_REPLY_FROM_') || code.startsWith('UND_ERR_') || code === 'ECONNRESET') {
    statusCode = statusCode === 504 ? 504 : 502
    const e = statusCode === 504 ? new GatewayTimeoutError() : new BadGatewayError()
    return { statusCode, body: { error: BY_CODE[e.code] as string, message: e.message, statusCode } }
  }
  if (statusCode >= 500 && ![502, 503, 504].includes(statusCode)) {
    return { statusCode: 500, body: { error: 'internal_error', message: 'Internal server error', statusCode: 500 } }
  }
  const error = BY_CODE[code] ?? BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'internal_error' : 'invalid_request')
  return { statusCode, body: { error, message: err.message || error, statusCode } }
}
