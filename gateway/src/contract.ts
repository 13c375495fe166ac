/**
 * The gateway's contract with downstream services: the identity headers it alone sets.
 * A leaf module (no fastify): services import it by relative path.
 */

export const IDENTITY_HEADERS = {
  subject: 'x-user-id',
  roles: 'x-user-roles',
  session: 'x-session-id',
  requestId: 'x-request-id',
} as const

/** The identity the gateway derives from a verified access token. */
export interface Identity {
  subject: string
  roles: string[]
  session: string
}

/** Client headers that could pose as identity: `x-user-*` and `x-session-id`, in any case, `_` for `-`. */
export function isIdentityHeaderName (name: string): boolean {
  const folded = name.toLowerCase().replaceAll('_', '-')
  return folded.startsWith('x-user-') || folded === 'x-session-id'
}

export function formatRoles (roles: readonly string[]): string {
  return roles.join(',')
}

export function parseRoles (value: string | undefined): string[] {
  if (!value) return []
  return value.split(',').map((r) => r.trim()).filter((r) => r.length > 0)
}

/** A request id we keep from the client: short, and plain characters only. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/
