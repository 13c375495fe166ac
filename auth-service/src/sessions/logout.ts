/**
 * Logout: ends the session named by the refresh token (if it really belongs to its family)
 * or else by the access token; idempotent, so nothing to end is no error.
 */
import type { Families } from '../refresh/families.js'
import { parseRefreshToken } from '../refresh/refresh-token.js'
import type { AccessTokens } from '../tokens/access-token.js'
import { endSession, type EndDeps } from './end.js'
import type { Caller } from './issue.js'

export interface LogoutDeps extends EndDeps {
  families: EndDeps['families'] & Pick<Families, 'ownerOf'>
  tokens: Pick<AccessTokens, 'verify'>
}

export interface LogoutInput extends Caller {
  refreshToken?: string
  accessToken?: string
}

/** Resolves with the session ended, or null when neither token names a live one. */
export async function logout (deps: LogoutDeps, input: LogoutInput): Promise<{ sid: string } | null> {
  const session = await sessionToEnd(deps, input)
  if (!session) return null
  await endSession(deps, input, session, 'logout')
  return { sid: session.sid }
}

// A guessed secret with a known family id must not log anyone out: the refresh token counts
// only when the family issued it.
async function sessionToEnd (deps: LogoutDeps, input: LogoutInput) {
  const parsed = parseRefreshToken(input.refreshToken)
  if (parsed) {
    const userId = await deps.families.ownerOf(parsed.familyId, parsed.token)
    if (userId) return { sid: parsed.familyId, userId }
  }
  if (input.accessToken) {
    const claims = await deps.tokens.verify(input.accessToken).catch(() => null)
    if (claims) return { sid: claims.sid, userId: claims.sub }
  }
  return null
}
