/**
 * Security headers on every gateway response (own, proxied, error): the kernel's helmet policy
 * (services/kernel/security-policy.ts), computed once, written over any upstream copy.
 *
 * - HSTS only when the request came over HTTPS: the session's protocol, which believed
 *   x-forwarded-proto only from TRUST_PROXY (over plain HTTP it means nothing)
 */
import type { FastifyReply } from 'fastify'
import { createSecurityHeaders } from '../../../services/kernel/security-policy.js'
import type { GatewaySession } from '../pipeline/session.js'

export type WriteSecurityHeaders = (reply: FastifyReply, session: GatewaySession | null) => void

export function createSecurityHeaderWriter (): WriteSecurityHeaders {
  const write = createSecurityHeaders()
  return (reply, session) => write(reply, session?.protocol === 'https')
}
