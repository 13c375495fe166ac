/**
 * The caller's sessions, and ending one of them by id.
 */
import { NotFoundError } from '../errors.js'
import type { Families } from '../refresh/families.js'
import { endSession, type EndDeps } from './end.js'
import type { Caller } from './issue.js'

export interface SessionView {
  id: string
  createdAt: string
  lastUsedAt: string
  userAgent: string
  ip: string
  current: boolean
}

/** Oldest first; `current` marks the session of the asking access token. */
export async function listSessions (
  families: Pick<Families, 'listForUser'>, who: { userId: string, sid: string }
): Promise<SessionView[]> {
  const sessions = await families.listForUser(who.userId)
  return sessions.map((s) => ({
    id: s.id,
    createdAt: new Date(s.createdAt).toISOString(),
    lastUsedAt: new Date(s.lastUsedAt).toISOString(),
    userAgent: s.userAgent,
    ip: s.ip,
    current: s.id === who.sid,
  }))
}

export interface EndByIdDeps extends EndDeps {
  families: EndDeps['families'] & Pick<Families, 'get'>
}

/** Throws AUTH_ERR_NOT_FOUND unless `id` is a live session of the caller; resolves whether it was the current one. */
export async function endSessionById (
  deps: EndByIdDeps, input: Caller & { userId: string, sid: string, id: string }
): Promise<{ current: boolean }> {
  const session = await deps.families.get(input.id)
  // Another user's session is "not found": its existence is none of the caller's business.
  if (!session || session.userId !== input.userId) throw new NotFoundError('No such session')
  await endSession(deps, input, { sid: session.id, userId: input.userId }, 'session_delete')
  return { current: session.id === input.sid }
}
