/**
 * The gateway's errors and the one error handler: every refusal becomes the contract's body
 * `{ error, message, statusCode }` through the kernel's toPublicError and GATEWAY_CODES.
 *
 * - denials (stages 5 and 6 of pipeline/index.ts) are typed: one class per kind, each with a
 *   stable `reason` for logs and metrics that the public body never shows
 * - reply-from/undici failures become 502, their timeouts 504
 * - 401 and insufficient_scope carry `WWW-Authenticate` (RFC 6750), 503 `Retry-After`; a DPoP
 *   denial (pipeline/dpop.ts) carries a DPoP challenge instead (RFC 9449 section 7.1)
 */
import createError, { type FastifyError } from '@fastify/error'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { DPOP_ALGORITHMS, type DpopProofReason } from '../../services/kernel/dpop.js'
import {
  toPublicError as kernelPublicError, type ErrorLike, type PublicError,
} from '../../services/kernel/public-error.js'

/** Why an access token is refused (all 401 invalid_token). */
export type TokenDenialReason =
  | 'missing_token' | 'malformed_token' | 'token_too_large' | 'multiple_credentials'
  | 'token_expired' | 'token_not_yet_valid' | 'bad_signature' | 'no_matching_key'
  | 'claim_invalid' | 'alg_not_allowed' | 'revoked' | 'provider_not_allowed'
/** Stable, machine-readable reasons a request is denied (logs and metrics). */
/** Why a request with a DPoP-bound token, or a DPoP request, is refused (pipeline/dpop.ts). */
export type DpopDenialReason = DpopProofReason | 'dpop_bound_as_bearer' | 'dpop_unbound_token' | 'dpop_cnf_invalid'
export type DenialReason = TokenDenialReason | DpopDenialReason | 'role_missing' | 'keys_unavailable' |
  'replay_cache_unavailable'

/** A refusal of the request's credentials or rights; `reason` narrows the kind. */
export abstract class Denial extends Error {
  abstract readonly code: string
  abstract readonly statusCode: number
  abstract readonly reason: DenialReason
}

export class TokenDenial extends Denial {
  readonly code = 'GW_ERR_INVALID_TOKEN'
  readonly statusCode = 401
  readonly reason: TokenDenialReason
  constructor (reason: TokenDenialReason, description: string) {
    super(description)
    this.name = 'TokenDenial'
    this.reason = reason
  }
}

export class ScopeDenial extends Denial {
  readonly code = 'GW_ERR_INSUFFICIENT_SCOPE'
  readonly statusCode = 403
  readonly reason = 'role_missing'
  constructor (description: string) {
    super(description)
    this.name = 'ScopeDenial'
  }
}

/** Not the client's fault: the keys cannot be trusted any more (auth service down too long). */
export class KeysUnavailable extends Denial {
  readonly code = 'GW_ERR_KEYS_UNAVAILABLE'
  readonly statusCode = 503
  readonly reason = 'keys_unavailable'
  constructor () {
    super('Signing keys are unavailable, try again later')
    this.name = 'KeysUnavailable'
  }
}

/**
 * A 401 of the DPoP scheme: `invalid_dpop_proof` (the proof is missing or wrong) or
 * `invalid_token` (the token is bound but was not sent as DPoP, or sent as DPoP unbound).
 */
export class DpopDenial extends Denial {
  readonly code: 'GW_ERR_INVALID_DPOP_PROOF' | 'GW_ERR_INVALID_TOKEN'
  readonly statusCode = 401
  readonly reason: DpopDenialReason
  constructor (error: 'invalid_dpop_proof' | 'invalid_token', reason: DpopDenialReason, description: string) {
    super(description)
    this.name = 'DpopDenial'
    this.code = error === 'invalid_token' ? 'GW_ERR_INVALID_TOKEN' : 'GW_ERR_INVALID_DPOP_PROOF'
    this.reason = reason
  }
}

/** The DPoP replay cache (Redis) cannot answer: a proof is never accepted unclaimed (fail closed). */
export class ReplayCacheUnavailable extends Denial {
  readonly code = 'GW_ERR_REPLAY_CACHE_UNAVAILABLE'
  readonly statusCode = 503
  readonly reason = 'replay_cache_unavailable'
  constructor () {
    super('The DPoP replay cache is unavailable, try again later')
    this.name = 'ReplayCacheUnavailable'
  }
}

export type AnyDenial = TokenDenial | ScopeDenial | KeysUnavailable | DpopDenial | ReplayCacheUnavailable

export function isDenial (err: unknown): err is AnyDenial {
  return err instanceof Denial
}

export const invalidToken = (reason: TokenDenialReason, description: string): TokenDenial =>
  new TokenDenial(reason, description)
export const insufficientScope = (description: string): ScopeDenial => new ScopeDenial(description)
export const keysUnavailable = (): KeysUnavailable => new KeysUnavailable()

export const NotFoundError = createError('GW_ERR_NOT_FOUND', 'Route %s %s not found', 404)
export const BadGatewayError = createError('GW_ERR_BAD_GATEWAY', 'The upstream service failed to answer', 502)
export const GatewayTimeoutError = createError(
  'GW_ERR_GATEWAY_TIMEOUT', 'The upstream service did not answer in time', 504
)
export const CsrfError = createError('GW_ERR_CSRF', '%s', 403)
export const RateLimitedError = createError('GW_ERR_RATE_LIMITED', 'Too many requests, retry in %s', 429)
export const MissingHostError = createError('GW_ERR_MISSING_HOST', 'The Host header is required', 400)
export const WebSocketRefusedError = createError('GW_ERR_WEBSOCKET_REFUSED', '%s', 400)
export const PayloadTooLargeError = createError(
  'GW_ERR_PAYLOAD_TOO_LARGE', 'The request body is over the %d-byte limit of this route', 413
)

/** The gateway's codes → public codes; the kernel names the rest by status. */
export const GATEWAY_CODES: Readonly<Record<string, string>> = Object.freeze({
  GW_ERR_INVALID_TOKEN: 'invalid_token',
  GW_ERR_INSUFFICIENT_SCOPE: 'insufficient_scope',
  GW_ERR_KEYS_UNAVAILABLE: 'service_unavailable',
  GW_ERR_INVALID_DPOP_PROOF: 'invalid_dpop_proof',
  GW_ERR_REPLAY_CACHE_UNAVAILABLE: 'service_unavailable',
  GW_ERR_NOT_FOUND: 'not_found',
  GW_ERR_BAD_GATEWAY: 'bad_gateway',
  GW_ERR_GATEWAY_TIMEOUT: 'gateway_timeout',
  GW_ERR_CSRF: 'csrf_failed',
  GW_ERR_RATE_LIMITED: 'rate_limited',
  GW_ERR_MISSING_HOST: 'invalid_request',
  GW_ERR_PAYLOAD_TOO_LARGE: 'payload_too_large',
  GW_ERR_WEBSOCKET_REFUSED: 'websocket_not_allowed',
})

const isUpstreamFailure = (code: string) =>
  code.startsWith('FST_REPLY_FROM_') || code.startsWith('UND_ERR_') || code === 'ECONNRESET'

/** Maps any error to the status and public body. 5xx (other than 502-504) never expose the message. */
export function toPublicError (err: ErrorLike): PublicError {
  if (isUpstreamFailure(err.code ?? '')) {
    const e = err.statusCode === 504 ? new GatewayTimeoutError() : new BadGatewayError()
    return kernelPublicError(e, GATEWAY_CODES)
  }
  return kernelPublicError(err, GATEWAY_CODES)
}

/** The app's error handler (app.ts): the public body, its headers, and a log line for what is not the client's. */
export function errorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { statusCode, body } = toPublicError(err)
  if (statusCode === 500) request.log.error({ err }, 'request failed')
  else if (statusCode >= 502) {
    request.log.warn({ code: err.code, cause: (err.cause as Error | undefined)?.message }, 'request failed')
  }
  const description = body.message.replace(/["\\]/g, '')
  if (err instanceof DpopDenial) {
    const algs = DPOP_ALGORITHMS.join(' ')
    reply.header('www-authenticate', `DPoP error="${body.error}", error_description="${description}", algs="${algs}"`)
  } else if (statusCode === 401) {
    reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${description}"`)
  }
  if (body.error === 'insufficient_scope') {
    reply.header('www-authenticate', `Bearer error="insufficient_scope", error_description="${description}"`)
  }
  if (body.error === 'service_unavailable') reply.header('retry-after', '5')
  reply.code(statusCode).type('application/json; charset=utf-8').send(body)
}

export async function notFoundHandler (request: FastifyRequest): Promise<never> {
  throw new NotFoundError(request.method, request.url.split('?')[0])
}
