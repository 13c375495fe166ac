/**
 * The one API client of the page, and a tiny store around it that React reads with
 * useSyncExternalStore: the in-memory access token (never persisted anywhere) and
 * whether the session was lost. Sessions are DPoP-bound to the browser's non-extractable key
 * (dpop.ts); where IndexedDB is unavailable the client falls back to Bearer.
 */
import { createApiClient, type User } from './api-client.js'
import { CSRF_COOKIE, readCookie } from './browser.js'
import { createDpopProver } from './dpop.js'

export interface SessionState {
  status: 'restoring' | 'anonymous' | 'authenticated'
  token: string | null
  user: Pick<User, 'id' | 'roles'> & Partial<User> | null
  /** Set when the session ended by itself (refresh refused), to tell the user why. */
  ended: boolean
}

let state: SessionState = { status: 'restoring', token: null, user: null, ended: false }
const listeners = new Set<() => void>()

function update (patch: Partial<SessionState>): void {
  state = { ...state, ...patch }
  for (const listener of listeners) listener()
}

export const api = createApiClient({
  dpop: createDpopProver().catch(() => null),
  readCsrfToken: () => readCookie(CSRF_COOKIE),
  onAccessToken: (token) => update({ token }),
  onLoggedOut: () => update({ status: 'anonymous', user: null, ended: true }),
})

export const sessionStore = {
  subscribe (listener: () => void) {
    listeners.add(listener)
    return () => { listeners.delete(listener) }
  },
  get: () => state,
  signedIn (user: SessionState['user']) { update({ status: 'authenticated', user, ended: false }) },
  signedOut () { update({ status: 'anonymous', user: null, ended: false }) },
}

/** Page load: get an access token from the refresh cookie, then who we are. */
export async function restoreSession (): Promise<void> {
  if (!(await api.restore())) return sessionStore.signedOut()
  try {
    const me = await api.request<{ id: string, roles: string[] }>('GET', '/api/users/me')
    sessionStore.signedIn({ id: me.id, roles: me.roles })
  } catch {
    if (api.accessToken()) sessionStore.signedIn({ id: '', roles: [] })
    else sessionStore.signedOut()
  }
}
