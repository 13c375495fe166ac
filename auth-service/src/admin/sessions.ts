/**
 * Admin use cases on another user's sessions: list them, end one, end all. Each is one
 * `admin_action` audit event naming the admin; an admin acting on their own account is
 * allowed, and the event says `self: true`.
 */
import { NotFoundError } from '../errors.js'
import type { Families } from '../refresh/families.js'
import { endSession, type EndDeps } from '../sessions/end.js'
import { listSessions, type SessionView } from '../sessions/list.js'
import { revokeEverySession, type RevokeAllDeps } from '../sessions/logout-all.js'
import type { UsersStore } from '../users/users-store.js'
import { auditAdmin, targetUser, type AdminAuditDeps, type AdminCaller } from './accounts.js'

export type AdminSessionsDeps = EndDeps & RevokeAllDeps & AdminAuditDeps & {
  users: Pick<UsersStore, 'findById'>
  families: Pick<Families, 'get' | 'listForUser'>
}

/** The user's sessions in the shape of GET /auth/sessions (`current`: the admin's own session). */
export async function listUserSessions (
  deps: Pick<AdminSessionsDeps, 'users' | 'families' | 'events'>, caller: AdminCaller, userId: string
): Promise<SessionView[]> {
  await targetUser(deps.users, userId)
  const sessions = await listSessions(deps.families, { userId, sid: caller.sid ?? '' })
  auditAdmin(deps, caller, 'sessions_listed', { targetUserId: userId, sessions: sessions.length })
  return sessions
}

/** Throws AUTH_ERR_NOT_FOUND unless `sessionId` is a live session of `userId`. */
export async function endUserSession (
  deps: AdminSessionsDeps, caller: AdminCaller, userId: string, sessionId: string
): Promise<void> {
  await targetUser(deps.users, userId)
  const session = await deps.families.get(sessionId)
  if (!session || session.userId !== userId) throw new NotFoundError('No such session of this user')
  await endSession(deps, caller, { sid: session.id, userId }, 'admin')
  auditAdmin(deps, caller, 'session_ended', { targetUserId: userId, sid: session.id })
}

/** Throws AUTH_ERR_NOT_FOUND; resolves with how many sessions were ended. */
export async function endUserSessions (deps: AdminSessionsDeps, caller: AdminCaller, userId: string): Promise<number> {
  await targetUser(deps.users, userId)
  const ids = await revokeEverySession(deps, userId)
  auditAdmin(deps, caller, 'sessions_ended', { targetUserId: userId, sessions: ids.length })
  return ids.length
}
