/**
 * DPoP at the token endpoints (RFC 9449 section 5): login, register and refresh read an optional
 * `DPoP` proof; a valid one gives the key's thumbprint, which binds the access token (cnf.jkt)
 * and the refresh family. The checks themselves are the kernel's (services/kernel/dpop.ts).
 *
 * - htu is the URL the client called: through the gateway, its scheme and host arrive as
 *   x-forwarded-proto / x-forwarded-host, which Fastify believes from TRUST_PROXY peers only
 * - a proof that is present but wrong, replayed or repeated is 401 invalid_dpop_proof; nothing
 *   is created or rotated then
 * - Redis down while claiming the jti: the request fails (503), never an unchecked proof
 */
import type { FastifyRequest } from 'fastify'
import {
  DpopProofError, claimProofJti, normaliseHtu, proofHeaders, verifyDpopProof,
} from '../../services/kernel/dpop.js'
import { InvalidDpopProofError } from './errors.js'
import type { RedisClient } from './redis.js'

export interface ProofCheckOptions {
  redis: RedisClient
  prefix: string
  windowS: number
}

/**
 * The request's proof thumbprint, undefined when it sent none; throws AUTH_ERR_INVALID_DPOP_PROOF.
 * With `accessToken` (a resource request: require-access.ts) the proof must carry its ath.
 */
export type ProofCheck = (request: FastifyRequest, accessToken?: string) => Promise<string | undefined>

export function requestUrl (request: FastifyRequest): string | null {
  return normaliseHtu(`${request.protocol}://${request.host}${request.url}`)
}

export function createProofCheck (opts: ProofCheckOptions): ProofCheck {
  return async function checkProof (request, accessToken) {
    const proofs = proofHeaders(request.raw.rawHeaders)
    if (proofs.length === 0) return undefined
    if (proofs.length > 1) throw new InvalidDpopProofError('Exactly one DPoP proof header is allowed')
    const url = requestUrl(request)
    try {
      const proof = await verifyDpopProof(proofs[0] as string, {
        method: request.method, urls: url === null ? [] : [url], windowS: opts.windowS, accessToken,
      })
      // Its own namespace: the gateway may have checked this proof already (a route with auth).
      if (!(await claimProofJti(opts.redis, `${opts.prefix}auth:`, proof, opts.windowS))) {
        throw new DpopProofError('proof_replayed', 'DPoP proof was already used')
      }
      return proof.jkt
    } catch (err) {
      if (err instanceof DpopProofError) throw new InvalidDpopProofError(err.message)
      throw err
    }
  }
}
