/**
 * The contract's public error body, `{ error, message, statusCode }`, from any error: each
 * process passes its own internal-code → public-code table; everything else is named by its
 * status. A 5xx never carries a message of its own (502-504 keep theirs: they name no internals).
 */

export interface PublicErrorBody { error: string, message: string, statusCode: number }
export interface PublicError { statusCode: number, body: PublicErrorBody }

/** Public codes by status, for errors whose code the process's table does not name. */
export const PUBLIC_CODE_BY_STATUS: Readonly<Record<number, string>> = Object.freeze({
  400: 'invalid_request',
  401: 'invalid_token',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
})

/** Fastify's and its plugins' own codes every process maps alike. */
export const FASTIFY_PUBLIC_CODES: Readonly<Record<string, string>> = Object.freeze({
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_RATE_LIMIT: 'rate_limited',
  FST_ERR_VALIDATION: 'invalid_request',
})

const INTERNAL: PublicError = Object.freeze({
  statusCode: 500,
  body: Object.freeze({ error: 'internal_error', message: 'Internal server error', statusCode: 500 }),
})

export interface ErrorLike { code?: string, statusCode?: number, message?: string }

export function toPublicError (err: ErrorLike, byCode: Readonly<Record<string, string>> = {}): PublicError {
  const status = err.statusCode
  if (typeof status !== 'number' || status < 400 || status > 599) return INTERNAL
  if (status >= 500 && status !== 502 && status !== 503 && status !== 504) return INTERNAL
  const code = err.code ?? ''
  const error = byCode[code] ?? FASTIFY_PUBLIC_CODES[code] ?? PUBLIC_CODE_BY_STATUS[status] ??
    (status >= 500 ? 'internal_error' : 'invalid_request')
  return { statusCode: status, body: { error, message: err.message || error, statusCode: status } }
}
