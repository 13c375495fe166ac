/**
 * Errors of the demo services (SVC_ERR_*) and the one error handler that turns any error
 * into the public body `{ error, message }` (CONTRACT "Errors").
 * @see https://github.com/fastify/fastify-error
 */
import createError from '@fastify/error'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

export const MissingIdentityError = createError(
  'SVC_ERR_MISSING_IDENTITY', 'missing %s: requests must come through the gateway', 400)
export const ForbiddenError = createError('SVC_ERR_FORBIDDEN', 'role "%s" required', 403)
export const NotFoundError = createError('SVC_ERR_NOT_FOUND', '%s not found', 404)

/** Public error code by status: the SVC_ERR_* above and Fastify's own errors carry theirs. */
const STATUS_TO_PUBLIC: Record<number, string> = {
  400: 'invalid_request',
  403: 'insufficient_scope',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

export interface PublicError { error: string, message: string }

/** Maps an error to its status and public body; 5xx never carries details. */
export function toPublicError (err: Partial<FastifyError>): { statusCode: number, body: PublicError } {
  const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600
    ? err.statusCode
    : 500
  if (status >= 500) {
    return { statusCode: 500, body: { error: 'internal_error', message: 'internal server error' } }
  }
  const error = STATUS_TO_PUBLIC[status] ?? 'invalid_request'
  return { statusCode: status, body: { error, message: err.message ?? 'bad request' } }
}

export function errorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { statusCode, body } = toPublicError(err)
  if (statusCode >= 500) request.log.error({ err }, 'request failed')
  else request.log.info({ code: err.code, statusCode }, err.message)
  if (body.error === 'insufficient_scope') {
    reply.header('www-authenticate', 'Bearer error="insufficient_scope"')
  }
  return reply.code(statusCode).send(body)
}

export function notFoundHandler (request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({ error: 'not_found', message: `route ${request.method} ${request.url.split('?')[0]} not found` })
}
