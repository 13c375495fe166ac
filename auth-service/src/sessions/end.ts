/**
 * Ending sessions: the family goes and the gateways are told, in parallel.
 */
import type { AuthEvents, SessionEndedBy } from '../audit.js'
import type { Families } from '../refresh/families.js'
import type { Revocations } from '../refresh/revocations.js'
import type { Caller } from './issue.js'

export interface EndDeps {
  families: Pick<Families, 'remove' | 'now'>
  revocations: Pick<Revocations, 'sessions'>
  events: Pick<AuthEvents, 'sessionEnded'>
}

export async function endSession (
  deps: EndDeps, caller: Caller, session: { sid: string, userId: string }, by: SessionEndedBy
): Promise<void> {
  await Promise.all([
    deps.families.remove(session.sid, session.userId),
    deps.revocations.sessions([session.sid], deps.families.now()),
  ])
  deps.events.sessionEnded(caller.log, { sid: session.sid, userId: session.userId, by, ...caller.client })
}
