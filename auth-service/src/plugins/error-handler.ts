/**
 * The one error handler and the 404: every error leaves as the contract's JSON body.
 * - The mapping is `toPublicAuthError` (errors.ts); this only logs and sends.
 * - Redis being down is a warning (it is not a bug); anything unmapped is logged as an error.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { toPublicAuthError } from '../errors.js'
import { isRedisUnavailable, type RedisClient } from '../redis.js'

export function handleErrors (app: FastifyInstance, redis: RedisClient): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const mapped = toPublicAuthError(err, { redisUnavailable: isRedisUnavailable(err, redis) })
    if (mapped.statusCode === 503) request.log.warn({ err: err.message }, 'redis unavailable')
    else if (mapped.statusCode >= 500) request.log.error({ err }, 'unhandled error')
    reply.headers(mapped.headers).status(mapped.statusCode).send(mapped.body)
  })

  app.setNotFoundHandler((request, reply) => {
    const message = `Route ${request.method} ${request.url.split('?')[0]} not found`
    reply.status(404).send({ error: 'not_found', message, statusCode: 404 })
  })
}
