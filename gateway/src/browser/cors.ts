/**
 * Browser protection, CORS: only the CORS_ORIGINS allow list gets Access-Control-Allow-Origin
 * (its own origin reflected, never `*`) and Allow-Credentials; every other origin gets no
 * CORS headers at all, so a browser there can neither read answers nor send non-simple
 * requests. Every OPTIONS is answered by the gateway (204), never proxied: a preflight
 * carries no credentials for the upstream. Vary: Origin on every response, since the answer
 * depends on it. The headers for each listed origin are built once at start-up (what
 * @fastify/cors would rebuild on every request); an upstream's own CORS headers never
 * reach the browser (proxy.ts drops them): the gateway's policy is the only one.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
import type { FastifyReply } from 'fastify'
import { CSRF_HEADER } from '../../../auth-service/src/contract.js'

export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', CSRF_HEADER, 'x-request-id']
export const CORS_EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'www-authenticate', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']
export const CORS_MAX_AGE_S = 600
/** Every CORS response header: the gateway's alone to write. */
export const CORS_RESPONSE_HEADERS = [
  'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers',
  'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age',
] as const

type HeaderList = ReadonlyArray<readonly [string, string]>
interface Grant { actual: HeaderList, preflight: HeaderList }

/** The CORS headers for a request's Origin: empty unless the origin is exactly one of the list. */
export function corsHeadersFor (origin: string | undefined, allowList: readonly string[], preflight: boolean): HeaderList {
  if (origin === undefined || !allowList.includes(origin)) return []
  const actual: HeaderList = [
    ['access-control-allow-origin', origin],
    ['access-control-allow-credentials', 'true'],
    ['access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', ')],
  ]
  if (!preflight) return actual
  return [
    ...actual,
    ['access-control-allow-methods', CORS_METHODS.join(', ')],
    ['access-control-allow-headers', CORS_ALLOWED_HEADERS.join(', ')],
    ['access-control-max-age', String(CORS_MAX_AGE_S)],
  ]
}

export interface Cors {
  /** onRequest: answers an OPTIONS (204) and returns true; otherwise does nothing. */
  preflight: (method: string, origin: string | undefined, reply: FastifyReply) => boolean
  /** onSend: the CORS headers of an actual request, and Vary: Origin. */
  headers: (origin: string | undefined, reply: FastifyReply) => void
}

export function createCors (allowList: readonly string[]): Cors {
  const grants = new Map<string, Grant>(allowList.map((origin) => [origin, {
    actual: corsHeadersFor(origin, allowList, false),
    preflight: corsHeadersFor(origin, allowList, true),
  }]))
  const write = (reply: FastifyReply, headers: HeaderList) => { for (const [name, value] of headers) reply.header(name, value) }
  return {
    preflight (method, origin, reply) {
      if (method !== 'OPTIONS') return false
      const grant = origin === undefined ? undefined : grants.get(origin)
      if (grant) write(reply, grant.preflight)
      // Safari waits for a body on a 204 without Content-Length: 0.
      reply.code(204).header('content-length', '0').send()
      return true
    },
    headers (origin, reply) {
      const vary = reply.getHeader('vary')
      if (vary === undefined) reply.header('vary', 'Origin')
      else if (!/(^|,)\s*(origin|\*)\s*(,|$)/i.test(String(vary))) reply.header('vary', `${String(vary)}, Origin`)
      const grant = origin === undefined ? undefined : grants.get(origin)
      if (grant && !reply.hasHeader('access-control-allow-origin')) write(reply, grant.actual)
    },
  }
}
