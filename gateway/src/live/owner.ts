/**
 * A live connection of a request, for the registry (connections.ts): who holds it, from the
 * session's verified token (its sid, sub, iat and exp, and for the auth service's tokens the
 * signing key's kid: revocation and key removal apply to those only; another provider's token
 * ends at its exp), and the rule's time limits.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { localProvider } from '../gateway-file/index.js'
import type { GatewaySession } from '../pipeline/session.js'
import type { Rule } from '../rules.js'
import type { LiveConnection, LiveKind, LiveOwner } from './connections.js'

export function ownerOf (session: GatewaySession): LiveOwner | null {
  const { identity, token } = session
  if (identity === null || token === null) return null
  const iat = decodeJwt(token).iat ?? 0
  const owner: LiveOwner = { sid: identity.session, sub: identity.subject, iat, exp: session.tokenExp }
  if (session.provider !== localProvider(session.active.file).id) return owner
  return { ...owner, kid: decodeProtectedHeader(token).kid ?? '' }
}

export function liveConnection (
  kind: LiveKind, rule: Rule, session: GatewaySession, end: LiveConnection['end']
): LiveConnection {
  return { kind, owner: ownerOf(session), idleTimeoutMs: rule.idleTimeoutMs, maxLifetimeMs: rule.maxLifetimeMs, end }
}
