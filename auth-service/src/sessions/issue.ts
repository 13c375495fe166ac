/**
 * What every way into a session hands back: the session id, a fresh access token and the
 * refresh token; the routes decide how it travels (body or cookies).
 */
import type { AuditLog } from '../audit.js'
import type { ClientInfo } from '../refresh/families.js'
import type { AccessTokens } from '../tokens/access-token.js'
import type { User } from '../users/users-store.js'

export interface IssuedSession {
  sid: string
  accessToken: string
  refreshToken: string
  /** The DPoP key thumbprint both tokens are bound to (tokenType DPoP); none: Bearer. */
  jkt?: string
  /** Register and login only. */
  user?: User
}

/** Per-call context of a use case: who is asking, and the request's logger for audit lines. */
export interface Caller {
  client: ClientInfo
  log: AuditLog
  /** Thumbprint of the key of the request's valid DPoP proof (auth-service/src/dpop.ts), if it sent one. */
  jkt?: string
}

export async function issueSession (
  tokens: Pick<AccessTokens, 'sign'>,
  s: { sid: string, refreshToken: string, sub: string, roles: string[], user?: User, jkt?: string }
): Promise<IssuedSession> {
  const accessToken = await tokens.sign({ sub: s.sub, sid: s.sid, roles: s.roles, jkt: s.jkt })
  const issued: IssuedSession = { sid: s.sid, accessToken, refreshToken: s.refreshToken }
  if (s.user) issued.user = s.user
  if (s.jkt !== undefined) issued.jkt = s.jkt
  return issued
}
