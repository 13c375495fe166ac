/**
 * Logout everywhere: every family of the user goes, each session and the user are recorded
 * as revoked for the gateways. `revokeEverySession` is the same path for admins (disable,
 * end all sessions).
 */
import type { AuthEvents } from '../audit.js'
import type { Families } from '../refresh/families.js'
import type { Revocations } from '../refresh/revocations.js'
import type { Caller } from './issue.js'

export interface RevokeAllDeps {
  families: Pick<Families, 'removeAll' | 'now'>
  revocations: Revocations
}

export interface LogoutAllDeps extends RevokeAllDeps {
  events: Pick<AuthEvents, 'logoutAll'>
}

/** Removes every family of `userId` and tells the gateways (each session, then the user's "not before"); the ids. */
export async function revokeEverySession (deps: RevokeAllDeps, userId: string): Promise<string[]> {
  const ids = await deps.families.removeAll(userId)
  const now = deps.families.now()
  await deps.revocations.sessions(ids, now)
  await deps.revocations.user(userId, now)
  return ids
}

/** Resolves with how many sessions were ended. */
export async function logoutAll (deps: LogoutAllDeps, input: Caller & { userId: string }): Promise<number> {
  const ids = await revokeEverySession(deps, input.userId)
  deps.events.logoutAll(input.log, { userId: input.userId, sessions: ids.length, ...input.client })
  return ids.length
}
