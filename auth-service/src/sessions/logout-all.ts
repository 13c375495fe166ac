/**
 * Logout everywhere: every family of the user goes, each session and the user are recorded
 * as revoked for the gateways.
 */
import type { AuthEvents } from '../audit.js'
import type { Families } from '../refresh/families.js'
import type { Revocations } from '../refresh/revocations.js'
import type { Caller } from './issue.js'

export interface LogoutAllDeps {
  families: Pick<Families, 'removeAll' | 'now'>
  revocations: Revocations
  events: Pick<AuthEvents, 'logoutAll'>
}

/** Resolves with how many sessions were ended. */
export async function logoutAll (deps: LogoutAllDeps, input: Caller & { userId: string }): Promise<number> {
  const ids = await deps.families.removeAll(input.userId)
  const now = deps.families.now()
  await deps.revocations.sessions(ids, now)
  await deps.revocations.user(input.userId, now)
  deps.events.logoutAll(input.log, { userId: input.userId, sessions: ids.length, ...input.client })
  return ids.length
}
