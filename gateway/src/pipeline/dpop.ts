/**
 * Pipeline stage 5d, DPoP (RFC 9449 section 7): after the token is verified (or found in the
 * token cache), a token bound to a key (`cnf.jkt`) is accepted only as `Authorization: DPoP`
 * with a fresh proof by that key, checked on every request, cache hit or not.
 *
 * - the proof: the kernel's verifyDpopProof (services/kernel/dpop.ts): typ, asymmetric alg, no
 *   private key, signature, htm, htu, iat window, jti, ath of this token; its key's thumbprint
 *   must be the token's cnf.jkt
 * - htu may name the URL as this gateway received it (scheme from the session, which believes
 *   x-forwarded-proto from TRUST_PROXY peers only; Host) or any of GATEWAY_PUBLIC_ORIGINS
 * - the jti is claimed in Redis (SET NX PX, shared by every gateway); Redis down is 503: a proof
 *   that cannot be claimed is never accepted (fail closed)
 * - a bound token as Bearer or from the cookie, or an unbound one as DPoP: 401 invalid_token
 *   with a DPoP challenge; a bad proof: 401 invalid_dpop_proof
 */
import type { FastifyRequest } from 'fastify'
import {
  DpopProofError, claimProofJti, normaliseHtu, proofHeaders, verifyDpopProof,
} from '../../../services/kernel/dpop.js'
import type { RedisClient } from '../../../services/kernel/redis.js'
import { DpopDenial, ReplayCacheUnavailable, type DpopDenialReason } from '../errors.js'
import type { GatewaySession } from './session.js'

/** What the DPoP check needs of an authenticated request; none for a Bearer token sent as Bearer. */
export interface TokenBinding {
  token: string
  /** The token's cnf.jkt; undefined: not bound. */
  jkt: string | undefined
  /** Sent as `Authorization: DPoP`. */
  dpop: boolean
}

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/ // base64url of a SHA-256 digest

/** cnf.jkt of verified claims; undefined when the token is not bound. A malformed cnf is refused. */
export function boundKey (payload: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = payload.cnf
  if (cnf === undefined) return undefined
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined
  if (typeof jkt !== 'string' || !THUMBPRINT.test(jkt)) {
    throw new DpopDenial('invalid_token', 'dpop_cnf_invalid', 'claim cnf.jkt invalid')
  }
  return jkt
}

export interface DpopCheckOptions {
  redis: RedisClient
  prefix: string
  windowS: number
  /** GATEWAY_PUBLIC_ORIGINS: origins the gateway is reached at (a proxy in front may change Host). */
  publicOrigins: readonly string[]
}

/** Resolves, or throws a DpopDenial / ReplayCacheUnavailable. Synchronous when nothing is bound. */
export type DpopCheck = (request: FastifyRequest, session: GatewaySession, binding: TokenBinding) =>
  void | Promise<void>

const proofDenial = (reason: DpopDenialReason, message: string) =>
  new DpopDenial('invalid_dpop_proof', reason, message)

/** The URLs a proof for this request may name, normalised (normaliseHtu). */
function requestUrls (request: FastifyRequest, session: GatewaySession, publicOrigins: readonly string[]): string[] {
  const path = request.url
  const urls: string[] = []
  for (const origin of [`${session.protocol}://${request.headers.host ?? ''}`, ...publicOrigins]) {
    const url = normaliseHtu(origin + path)
    if (url !== null) urls.push(url)
  }
  return urls
}

export function createDpopCheck (opts: DpopCheckOptions): DpopCheck {
  async function checkProof (request: FastifyRequest, session: GatewaySession, token: string, jkt: string) {
    const proofs = proofHeaders(request.raw.rawHeaders)
    if (proofs.length === 0) throw proofDenial('proof_missing', 'a DPoP proof is required with this token')
    if (proofs.length > 1) throw proofDenial('proof_malformed', 'exactly one DPoP proof header is allowed')
    let proof
    try {
      proof = await verifyDpopProof(proofs[0] as string, {
        method: request.method,
        urls: requestUrls(request, session, opts.publicOrigins),
        accessToken: token,
        windowS: opts.windowS,
      })
    } catch (err) {
      if (err instanceof DpopProofError) throw proofDenial(err.reason, err.message)
      throw err
    }
    if (proof.jkt !== jkt) throw proofDenial('proof_key_mismatch', 'the DPoP proof is not signed by the token\'s key')
    let claimed: boolean
    try {
      claimed = await claimProofJti(opts.redis, opts.prefix, proof, opts.windowS)
    } catch {
      throw new ReplayCacheUnavailable()
    }
    if (!claimed) throw proofDenial('proof_replayed', 'DPoP proof was already used')
  }

  return function checkBinding (request, session, binding) {
    if (binding.jkt === undefined) {
      if (binding.dpop) throw new DpopDenial('invalid_token', 'dpop_unbound_token', 'the token is not bound to a key')
      return
    }
    if (!binding.dpop) {
      throw new DpopDenial('invalid_token', 'dpop_bound_as_bearer',
        'the token is bound to a key: send it as Authorization: DPoP with a proof')
    }
    return checkProof(request, session, binding.token, binding.jkt)
  }
}
