/**
 * Security events of the auth service: each one is a metric and one audit log line.
 * - Lines are `{ audit: true, event, ... }`, through the request's logger (so they carry reqId).
 * - Emails are logged (not secret, needed to investigate); passwords and tokens never are.
 */
import type { AuthMetrics } from './metrics.js'

export type AuditEvent =
  | 'login_succeeded' | 'login_failed' | 'refresh_reuse_detected'
  | 'session_ended' | 'logout_all' | 'key_rotated'

export interface ClientFields { ip: string, userAgent: string }
export type SessionEndedBy = 'logout' | 'session_delete'

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
  loginFailed: (log: Log, f: ClientFields & { email: string, reason: 'invalid_credentials' | 'throttled' }) => void
  refreshed: () => void
  refreshInvalid: () => void
  reuseDetected: (log: Log, f: ClientFields & { sid: string, userId: string }) => void
  sessionEnded: (log: Log, f: ClientFields & { sid: string, userId: string, by: SessionEndedBy }) => void
  logoutAll: (log: Log, f: ClientFields & { userId: string, sessions: number }) => void
  keyRotated: (log: Log, f: { from: string, to: string, published: string[] }) => void
}

export function createAuthEvents (metrics: AuthMetrics): AuthEvents {
  return {
    loginSucceeded (log, f) {
      metrics.logins.inc({ result: 'success' })
      audit(log, 'login_succeeded', f)
    },
    loginFailed (log, f) {
      metrics.logins.inc({ result: f.reason === 'throttled' ? 'throttled' : 'failure' })
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
  }
}
