/**
 * Admin use cases on accounts: find by email, disable, enable. Each is one `admin_action`
 * audit event naming the admin.
 * - Disabling sets the flag first, then revokes every session the way logout-all does (each
 *   family, then the user's "not before" the gateways honour) and marks the removed families,
 *   so their refresh tokens answer account_disabled; login re-reads the flag (login.ts).
 * - Enabling clears the flag only: the sessions that disabling ended stay ended.
 */
import type { AdminAction, AuthEvents } from '../audit.js'
import { InvalidRequestError, NotFoundError, SelfDisableError } from '../errors.js'
import type { Families } from '../refresh/families.js'
import type { Caller } from '../sessions/issue.js'
import { revokeEverySession, type RevokeAllDeps } from '../sessions/logout-all.js'
import { checkEmail } from '../users/email.js'
import type { StoredUser, UsersStore } from '../users/users-store.js'

/** What an admin sees of an account (never the password hash). */
export interface AdminUserView {
  id: string
  email: string
  roles: string[]
  disabled: boolean
  createdAt: string
}

/** The admin asking: a user id (API) or `cli:<os user>` (npm run users), and their session if any. */
export interface AdminCaller extends Caller {
  adminId: string
  sid?: string
}

export interface AdminAuditDeps {
  events: Pick<AuthEvents, 'adminAction'>
}

export interface AccountsDeps extends RevokeAllDeps, AdminAuditDeps {
  users: Pick<UsersStore, 'findByEmail' | 'findById' | 'setDisabled'>
  families: RevokeAllDeps['families'] & Pick<Families, 'markDisabled'>
}

export function adminUserView ({ id, email, roles, disabled, createdAt }: StoredUser): AdminUserView {
  return { id, email, roles, disabled, createdAt }
}

/** The account `userId`, or AUTH_ERR_NOT_FOUND. */
export async function targetUser (users: Pick<UsersStore, 'findById'>, userId: string): Promise<StoredUser> {
  const user = await users.findById(userId)
  if (!user) throw new NotFoundError('No such user')
  return user
}

export function auditAdmin (
  deps: AdminAuditDeps, caller: AdminCaller, action: AdminAction, details: Record<string, unknown> = {}
): void {
  const self = details.targetUserId === undefined ? {} : { self: details.targetUserId === caller.adminId }
  deps.events.adminAction(caller.log, { adminId: caller.adminId, action, ...details, ...self, ...caller.client })
}

/** Exact (normalised) email match: none or one account. Throws AUTH_ERR_INVALID_REQUEST on a malformed email. */
export async function findUsers (
  deps: Pick<AccountsDeps, 'users' | 'events'>, caller: AdminCaller, rawEmail: string
): Promise<AdminUserView[]> {
  const checked = checkEmail(rawEmail)
  if (!checked.ok) throw new InvalidRequestError(checked.problem)
  const user = await deps.users.findByEmail(checked.email)
  const found = user ? [adminUserView(user)] : []
  auditAdmin(deps, caller, 'users_searched', { email: checked.email, found: found.map((u) => u.id) })
  return found
}

/** Throws AUTH_ERR_SELF_DISABLE or AUTH_ERR_NOT_FOUND; resolves with how many sessions it ended. */
export async function disableUser (deps: AccountsDeps, caller: AdminCaller, userId: string): Promise<number> {
  if (userId === caller.adminId) throw new SelfDisableError()
  await targetUser(deps.users, userId)
  await deps.users.setDisabled(userId, true)
  const ids = await revokeEverySession(deps, userId)
  await deps.families.markDisabled(ids, userId)
  auditAdmin(deps, caller, 'user_disabled', { targetUserId: userId, sessions: ids.length })
  return ids.length
}

/** Throws AUTH_ERR_NOT_FOUND. */
export async function enableUser (deps: AccountsDeps, caller: AdminCaller, userId: string): Promise<void> {
  await targetUser(deps.users, userId)
  await deps.users.setDisabled(userId, false)
  auditAdmin(deps, caller, 'user_enabled', { targetUserId: userId })
}
