/**
 * Browser protection, CORS (@fastify/cors, root onRequest, before authentication): only
 * the CORS_ORIGINS allow list gets Access-Control-Allow-Origin (its own origin reflected,
 * never `*`) and Allow-Credentials; every other origin gets no CORS headers at all, so a
 * browser there can neither read answers nor send non-simple requests. Every OPTIONS is
 * answered here, never proxied (a preflight carries no credentials for the upstream).
 * Vary: Origin on every response, since the answer depends on it.
 * @see https://github.com/fastify/fastify-cors
 */
import type { FastifyInstance } from 'fastify'
import cors, { type FastifyCorsOptions } from '@fastify/cors'
import { CSRF_HEADER } from '../../../auth-service/src/contract.js'

export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', CSRF_HEADER, 'x-request-id']
export const CORS_EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'www-authenticate', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']
export const CORS_MAX_AGE_S = 600

/** The @fastify/cors options for one request's Origin header. */
export function corsOptionsFor (origin: string | undefined, allowList: readonly string[]): FastifyCorsOptions {
  const listed = origin !== undefined && allowList.includes(origin)
  return {
    // Unlisted: the list itself, which never matches, so no Allow-Origin header is written.
    origin: listed ? origin : [...allowList],
    credentials: listed,
    methods: CORS_METHODS,
    allowedHeaders: CORS_ALLOWED_HEADERS,
    ...(listed ? { exposedHeaders: CORS_EXPOSED_HEADERS } : {}),
    maxAge: CORS_MAX_AGE_S,
    // An OPTIONS without Origin is answered here too (204), instead of a text/plain 400.
    strictPreflight: false,
  }
}

export function registerCors (app: FastifyInstance, allowList: readonly string[]): void {
  // Built once: one options object per listed origin and one for every other origin.
  const listed = new Map(allowList.map((origin) => [origin, corsOptionsFor(origin, allowList)]))
  const unlisted = corsOptionsFor(undefined, allowList)
  app.register(cors, {
    delegator: (request, callback) => {
      const origin = request.headers.origin
      callback(null, (typeof origin === 'string' && listed.get(origin)) || unlisted)
    },
  })
}
