/**
 * Security events of the auth service: each one is a metric and one audit log line.
 * - Lines are `{ audit: true, event, ... }`, through the request's logger (so they carry reqId).
 * - Emails are logged (not secret, needed to investigate); passwords and tokens never are.
 */
import type { AuthMetrics } from './metrics.js'

export type AuditEvent =
  | 'login_succeeded' | 'login_failed' | 'refresh_reuse_detected'
  | 'session_ended' | 'logout_all' | 'key_rotated' | 'admin_action'

export interface ClientFields { ip: string, userAgent: string }
export type SessionEndedBy = 'logout' | 'session_delete' | 'admin'
export type AdminAction =
  | 'users_searched' | 'sessions_listed' | 'session_ended' | 'sessions_ended' | 'user_disabled' | 'user_enabled'

/** An admin action: who did it (a user id, or `cli:<os user>` from `npm run users`), to whom, and what. */
export interface AdminActionFields extends ClientFields {
  adminId: string
  action: AdminAction
  /** Absent for a search (it names an email, not a user). */
  targetUserId?: string
  [detail: string]: unknown
}

/** The part of a (pino) logger an audit line needs; the request's logger, so lines carry reqId. */
export interface AuditLog {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
}
type Log = AuditLog

export function audit (log: Log, event: AuditEvent, fields: object, level: 'info' | 'warn' = 'info'): void {
  log[level]({ audit: true, event, ...fields }, `audit: ${event}`)
}

export interface AuthEvents {
  loginSucceeded: (log: Log, f: ClientFields & { userId: string, email: string, sid: string }) => void
  /** `throttled`: refused before the password was checked (429). */
  /** `account_disabled`: the password was right, the account is disabled (403). */
  loginFailed: (log: Log, f: ClientFields & {
    email: string, reason: 'invalid_credentials' | 'throttled' | 'account_disabled'
  }) => void
  refreshed: () => void
  refreshInvalid: () => void
  reuseDetected: (log: Log, f: ClientFields & { sid: string, userId: string }) => void
  sessionEnded: (log: Log, f: ClientFields & { sid: string, userId: string, by: SessionEndedBy }) => void
  logoutAll: (log: Log, f: ClientFields & { userId: string, sessions: number }) => void
  keyRotated: (log: Log, f: { from: string, to: string, published: string[] }) => void
  adminAction: (log: Log, f: AdminActionFields) => void
}

export function createAuthEvents (metrics: AuthMetrics): AuthEvents {
  return {
    loginSucceeded (log, f) {
      metrics.logins.inc({ result: 'success' })
      audit(log, 'login_succeeded', f)
    },
    loginFailed (log, f) {
      metrics.logins.inc({ result: f.reason === 'invalid_credentials' ? 'failure' : f.reason })
      audit(log, 'login_failed', f)
    },
    refreshed () { metrics.refreshes.inc({ result: 'rotated' }) },
    refreshInvalid () { metrics.refreshes.inc({ result: 'invalid' }) },
    reuseDetected (log, f) {
      metrics.refreshes.inc({ result: 'reused' })
      metrics.reuseDetections.inc()
      audit(log, 'refresh_reuse_detected', f, 'warn')
    },
    sessionEnded (log, f) { audit(log, 'session_ended', f) },
    logoutAll (log, f) { audit(log, 'logout_all', f) },
    keyRotated (log, f) {
      metrics.keyRotations.inc()
      audit(log, 'key_rotated', f)
    },
    adminAction (log, f) {
      metrics.adminActions.inc({ action: f.action })
      audit(log, 'admin_action', f)
    },
  }
}
