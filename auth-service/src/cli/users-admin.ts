/**
 * The admin operations of `npm run users` (users.ts dispatches): the same use cases as the
 * admin API (admin/), on an account named by its email, from a shell.
 * - `find EMAIL`, `sessions EMAIL`, `end-sessions EMAIL [SESSION_ID]`, `disable EMAIL`, `enable EMAIL`.
 * - The admin of the audit line is `cli:<os user>`; the line is JSON on stderr.
 */
import { userInfo } from 'node:os'
import { audit, type AuditLog } from '../audit.js'
import type { AuthConfig } from '../config.js'
import type { RedisClient } from '../redis.js'
import { createFamilies } from '../refresh/families.js'
import { createRevocations } from '../refresh/revocations.js'
import { adminUserView, disableUser, enableUser, findUsers, type AdminCaller } from '../admin/accounts.js'
import { endUserSession, endUserSessions, listUserSessions } from '../admin/sessions.js'
import { createUsersStore } from '../users/users-store.js'
import type { CliIo } from './io.js'

export const ADMIN_COMMANDS = ['find', 'sessions', 'end-sessions', 'disable', 'enable'] as const
export type AdminCommand = typeof ADMIN_COMMANDS[number]

export const ADMIN_USAGE = '       npm run users -- find|sessions|disable|enable EMAIL\n' +
  '       npm run users -- end-sessions EMAIL [SESSION_ID]'

export interface AdminArgs { command: AdminCommand, email: string, sessionId?: string }

export async function runAdminCommand (
  redis: RedisClient, config: Readonly<AuthConfig>, args: AdminArgs, io: CliIo
): Promise<number> {
  const prefix = config.redisPrefix
  const users = createUsersStore(redis, prefix)
  const families = createFamilies(redis, { ...config, prefix })
  const revocations = createRevocations(redis, { prefix, accessTokenTtl: config.accessTokenTtl })
  // The audit lines only: a CLI run has no metrics to count.
  const events = {
    adminAction: (log: AuditLog, f: object) => audit(log, 'admin_action', f),
    sessionEnded: (log: AuditLog, f: object) => audit(log, 'session_ended', f),
  }
  const deps = { users, families, revocations, events }
  const caller = cliCaller(io)

  // `find` is the audited search; the other commands name their target by email.
  const [found] = args.command === 'find'
    ? await findUsers(deps, caller, args.email)
    : await users.findByEmail(args.email).then((u) => u ? [adminUserView(u)] : [])
  if (!found) {
    io.err(`no user ${args.email}`)
    return 1
  }
  switch (args.command) {
    case 'find':
      io.out(`${found.email} id ${found.id} roles ${found.roles.join(',')} ` +
        `${found.disabled ? 'DISABLED' : 'enabled'} created ${found.createdAt}`)
      return 0
    case 'sessions':
      for (const s of await listUserSessions(deps, caller, found.id)) {
        io.out(`${s.id} created ${s.createdAt} last used ${s.lastUsedAt} ${s.ip} ${s.userAgent}`)
      }
      return 0
    case 'end-sessions':
      if (args.sessionId === undefined) {
        io.out(`ended ${await endUserSessions(deps, caller, found.id)} session(s) of ${found.email}`)
      } else {
        await endUserSession(deps, caller, found.id, args.sessionId)
        io.out(`ended session ${args.sessionId} of ${found.email}`)
      }
      return 0
    case 'disable':
      io.out(`disabled ${found.email}; ended ${await disableUser(deps, caller, found.id)} session(s)`)
      return 0
    case 'enable':
      await enableUser(deps, caller, found.id)
      io.out(`enabled ${found.email}`)
      return 0
  }
}

function cliCaller (io: CliIo): AdminCaller {
  const line = (level: string) => (obj: object, msg: string) =>
    io.err(JSON.stringify({ level, time: Date.now(), ...obj, msg }))
  const log: AuditLog = { info: line('info'), warn: line('warn') }
  return { adminId: `cli:${osUser()}`, client: { ip: 'cli', userAgent: 'npm run users' }, log }
}

function osUser (): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown'
  }
}
