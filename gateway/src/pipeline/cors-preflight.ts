/**
 * Pipeline stage 3, CORS preflight: every OPTIONS is answered by the gateway (204) and ends
 * the pipeline, never proxied: a preflight carries no credentials for the upstream, and no
 * limiter counts it. A listed origin gets its preflight grant (response/cors-headers.ts).
 */
import { createCorsGrants, writeHeaders } from '../response/cors-headers.js'
import type { Stage } from './stage.js'

export function createCorsPreflight (allowList: readonly string[]): Stage {
  const grants = createCorsGrants(allowList)
  return (request, reply) => {
    if (request.method !== 'OPTIONS') return undefined
    const origin = request.raw.headers.origin
    const grant = typeof origin === 'string' ? grants.get(origin) : undefined
    if (grant) writeHeaders(reply, grant.preflight)
    // Safari waits for a body on a 204 without Content-Length: 0.
    reply.code(204).header('content-length', '0').send()
    return true
  }
}
