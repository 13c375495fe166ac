/**
 * Errors of the demo services (SVC_ERR_*) and the one error handler, through the kernel's
 * `toPublicError` (body `{ error, message, statusCode }`, CONTRACT "Errors").
 * - Each SVC_ERR_* code names its public code in SVC_PUBLIC_CODES; Fastify's own go by code or status.
 * - Every 5xx is a plain 500 but one: the gateway's JWKS unreachable (identity assertions) is 503.
 * @see https://github.com/fastify/fastify-error
 */
import createError from '@fastify/error'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { toPublicError, type ErrorLike, type PublicError } from '../kernel/public-error.js'

export const MissingIdentityError = createError(
  'SVC_ERR_MISSING_IDENTITY', 'missing %s: requests must come through the gateway', 400)
export const ForbiddenError = createError('SVC_ERR_FORBIDDEN', 'role "%s" required', 403)
export const NotFoundError = createError('SVC_ERR_NOT_FOUND', '%s not found', 404)
export const InvalidIdentityAssertionError = createError(
  'SVC_ERR_INVALID_IDENTITY_ASSERTION', 'identity assertion %s: requests must come through the gateway', 401)
export const AssertionKeysUnavailableError = createError(
  'SVC_ERR_ASSERTION_KEYS_UNAVAILABLE', "the gateway's keys cannot be fetched", 503)

/** Internal code → public code. */
export const SVC_PUBLIC_CODES: Readonly<Record<string, string>> = Object.freeze({
  SVC_ERR_MISSING_IDENTITY: 'invalid_request',
  SVC_ERR_FORBIDDEN: 'insufficient_scope',
  SVC_ERR_NOT_FOUND: 'not_found',
  SVC_ERR_INVALID_IDENTITY_ASSERTION: 'invalid_identity_assertion',
  SVC_ERR_ASSERTION_KEYS_UNAVAILABLE: 'service_unavailable',
})

/** An error's status and public body; a 5xx never carries details. */
export function toServicePublicError (err: ErrorLike): PublicError {
  const status = err.statusCode
  // The one 5xx with a cause a caller can act on: the gateway's JWKS is down.
  if (err.code === 'SVC_ERR_ASSERTION_KEYS_UNAVAILABLE') return toPublicError(err, SVC_PUBLIC_CODES)
  if (typeof status === 'number' && status >= 500) return toPublicError({}, SVC_PUBLIC_CODES)
  return toPublicError(err, SVC_PUBLIC_CODES)
}

export function errorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { statusCode, body } = toServicePublicError(err)
  if (statusCode >= 500) request.log.error({ err }, 'request failed')
  else request.log.info({ code: err.code, statusCode }, err.message)
  if (body.error === 'insufficient_scope') {
    reply.header('www-authenticate', 'Bearer error="insufficient_scope"')
  }
  return reply.code(statusCode).send(body)
}

export function notFoundHandler (request: FastifyRequest, reply: FastifyReply) {
  const { body } = toPublicError({
    statusCode: 404, message: `route ${request.method} ${request.url.split('?')[0]} not found`,
  })
  return reply.code(404).send(body)
}
