/**
 * Small browser helpers: reading the CSRF cookie and decoding a token's `exp` for the
 * countdown. The decoded payload is display-only: nothing here is trusted.
 */

export const CSRF_COOKIE = 'csrf_token'

export function readCookie (name: string, cookieString: string = document.cookie): string | undefined {
  for (const part of cookieString.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim())
  }
  return undefined
}

/** The `exp` claim (seconds) of a JWT, or null when it cannot be read. Display only. */
export function tokenExpiry (token: string | null): number | null {
  if (!token) return null
  const payload = token.split('.')[1]
  if (!payload) return null
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
    const exp = (JSON.parse(json) as { exp?: unknown }).exp
    return typeof exp === 'number' ? exp : null
  } catch {
    return null
  }
}
