/**
 * CORS, the response side: the gateway's policy is the only one a browser sees.
 *
 * - only the CORS_ORIGINS allow list gets Access-Control-Allow-Origin (its own origin
 *   reflected, never `*`) and Allow-Credentials; any other origin gets no CORS header at all,
 *   so a browser there can neither read answers nor send non-simple requests
 * - the headers of each listed origin are built once at start-up (what @fastify/cors would
 *   rebuild on every request); the preflight stage (pipeline/cors-preflight.ts) uses them too
 * - `Vary: Origin` on every response, since the answer depends on it
 * - an upstream's own CORS headers never reach the browser (upstream-headers.ts)
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
import type { FastifyReply } from 'fastify'
import { CSRF_HEADER } from '../../../auth-service/src/contract.js'

export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', CSRF_HEADER, 'x-request-id']
export const CORS_EXPOSED_HEADERS = [
  'x-request-id', 'retry-after', 'www-authenticate', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset',
]
export const CORS_MAX_AGE_S = 600
/** Every CORS response header: the gateway's alone to write. */
export const CORS_RESPONSE_HEADERS = [
  'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers',
  'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age',
] as const

export type HeaderList = ReadonlyArray<readonly [string, string]>
export interface CorsGrant { actual: HeaderList, preflight: HeaderList }
export type CorsGrants = ReadonlyMap<string, CorsGrant>

/** The CORS headers for a request's Origin: empty unless the origin is exactly one of the list. */
export function corsHeadersFor (
  origin: string | undefined, allowList: readonly string[], preflight: boolean
): HeaderList {
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

/** The headers of every listed origin, built once. */
export function createCorsGrants (allowList: readonly string[]): CorsGrants {
  return new Map(allowList.map((origin) => [origin, {
    actual: corsHeadersFor(origin, allowList, false),
    preflight: corsHeadersFor(origin, allowList, true),
  }]))
}

export function writeHeaders (reply: FastifyReply, headers: HeaderList): void {
  for (const [name, value] of headers) reply.header(name, value)
}

/** onSend: the CORS headers of an actual request, and Vary: Origin. */
export function createCorsHeaders (grants: CorsGrants): (origin: string | undefined, reply: FastifyReply) => void {
  return (origin, reply) => {
    const vary = reply.getHeader('vary')
    if (vary === undefined) reply.header('vary', 'Origin')
    else if (!/(^|,)\s*(origin|\*)\s*(,|$)/i.test(String(vary))) reply.header('vary', `${String(vary)}, Origin`)
    const grant = origin === undefined ? undefined : grants.get(origin)
    if (grant && !reply.hasHeader('access-control-allow-origin')) writeHeaders(reply, grant.actual)
  }
}
