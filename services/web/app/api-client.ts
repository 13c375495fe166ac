/**
 * The SPA's API client. The access token lives only in this closure and goes out as
 * `Authorization: Bearer`, or, with a DPoP prover (dpop.ts), as `Authorization: DPoP` with a
 * fresh proof on every call (login, register and refresh carry one too, which binds the
 * session to the browser's key); the refresh token never leaves its HttpOnly cookie. Many
 * concurrent 401s cause ONE refresh (single flight); every request that got a 401 is
 * replayed once with the new token. A refresh the server refuses ends the session:
 * `onLoggedOut` is called once and the caller goes back to the login page.
 * Pure module (no DOM, no React) so it runs under Node in tests.
 */

import type { ProveRequest } from './dpop.js'

export const CSRF_HEADER = 'x-csrf-token'
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

export interface User {
  id: string
  email: string
  name?: string
  roles: string[]
  createdAt: string
}

export interface LoginResult {
  accessToken: string
  tokenType: 'Bearer' | 'DPoP'
  expiresIn: number
  user: User
}

export interface ApiClientOptions {
  /** '' in the browser (same origin); an absolute origin in tests. */
  baseUrl?: string
  fetch?: typeof fetch
  /** Reads the csrf_token cookie (double submit), sent on every unsafe request. */
  readCsrfToken?: () => string | undefined
  /** The session is gone (refresh refused): show the login page. */
  onLoggedOut?: () => void
  /** Every change of the in-memory access token (for display only). */
  onAccessToken?: (token: string | null) => void
  /** Serialises refreshes across tabs (navigator.locks in the browser). */
  withRefreshLock?: <T>(run: () => Promise<T>) => Promise<T>
  /** Makes a DPoP proof (dpop.ts createDpopProver), awaited before the first request; none: Bearer only. */
  dpop?: Promise<ProveRequest | null>
}

export interface RequestOptions {
  body?: unknown
  /** false: no token, no refresh on 401 (login, register). */
  auth?: boolean
}

export interface ApiClient {
  request: <T = unknown>(method: string, path: string, opts?: RequestOptions) => Promise<T>
  login: (email: string, password: string) => Promise<LoginResult>
  register: (email: string, password: string, name?: string) => Promise<LoginResult>
  /** Restores a session from the refresh cookie (page load); false when there is none. */
  restore: () => Promise<boolean>
  logout: () => Promise<void>
  logoutAll: () => Promise<void>
  accessToken: () => string | null
  /**
   * The subprotocols to open a WebSocket on `path` with: a DPoP-bound session offers its proof
   * and its token (`dpop.<proof>`, `token.<token>`: a browser cannot set headers on a socket),
   * refreshing first when there is no token yet; a Bearer session offers none (the browser
   * sends the access cookie).
   */
  webSocketProtocols: (path: string) => Promise<string[]>
  /** A new access token now (a socket closed at its token's expiry); ends the session if refused. */
  renew: () => Promise<void>
}

/** Statuses of a refused refresh: the session cannot be recovered, log in again. */
const SESSION_LOST = new Set([400, 401, 403])

export function createApiClient (options: ApiClientOptions = {}): ApiClient {
  const baseUrl = options.baseUrl ?? ''
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const withLock = options.withRefreshLock ?? defaultRefreshLock()
  let token: string | null = null
  /** The scheme the server gave the current token (LoginResult.tokenType). */
  let tokenType: 'Bearer' | 'DPoP' = 'Bearer'
  let inflight: Promise<string> | null = null
  let last: Promise<string> | null = null
  let seq = 0
  let loggedOutNotified = false

  function setToken (next: string | null): void {
    if (next !== null) loggedOutNotified = false
    if (next === token) return
    token = next
    options.onAccessToken?.(next)
  }

  function sessionLost (): void {
    setToken(null)
    if (!loggedOutNotified) {
      loggedOutNotified = true
      options.onLoggedOut?.()
    }
  }

  /** `prove`: a token-endpoint call (login, register, refresh), which carries a proof whenever a prover exists. */
  async function send (
    method: string, path: string, body: unknown, bearer: string | null, prove = false
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const prover = await options.dpop
    const bound = bearer !== null && tokenType === 'DPoP' && prover
    if (bearer) headers.authorization = `${bound ? 'DPoP' : 'Bearer'} ${bearer}`
    if (prover && (prove || bound)) {
      const target = new URL(baseUrl + path, globalThis.location?.href)
      const htu = target.origin + target.pathname // RFC 9449 4.2: no query, no fragment
      headers.dpop = await prover(method, htu, bound ? bearer : undefined)
    }
    if (UNSAFE.has(method)) {
      const csrf = options.readCsrfToken?.()
      if (csrf) headers[CSRF_HEADER] = csrf
    }
    return doFetch(baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    })
  }

  async function callRefresh (): Promise<string> {
    // `{}`: the refresh token travels in its cookie, never in script-visible places.
    const res = await send('POST', '/auth/refresh', {}, null, true)
    if (!res.ok) throw await toError(res)
    const body = await res.json() as { accessToken?: unknown, tokenType?: unknown }
    if (typeof body.accessToken !== 'string') throw new ApiError(502, 'bad_gateway', 'refresh answered without a token')
    tokenType = body.tokenType === 'DPoP' ? 'DPoP' : 'Bearer'
    return body.accessToken
  }

  /**
   * Starts a refresh unless one is under way. `last` and `seq` let a request whose 401
   * arrives after a refresh settled use that outcome instead of refreshing again.
   */
  function startRefresh (endSessionOnRefusal: boolean): Promise<string> {
    if (!inflight) {
      seq++
      inflight = (async () => {
        try {
          const next = await withLock(callRefresh)
          setToken(next)
          return next
        } catch (err) {
          if (err instanceof ApiError && SESSION_LOST.has(err.status)) {
            if (endSessionOnRefusal) sessionLost()
            else setToken(null)
          }
          throw err
        } finally {
          inflight = null
        }
      })()
      last = inflight
      last.catch(() => {})
    }
    return inflight
  }

  const refresh = () => startRefresh(true)

  async function request<T> (method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const m = method.toUpperCase()
    if (opts.auth === false) return await parse<T>(await send(m, path, opts.body, null))

    // A refresh under way: wait for it (and share its failure) instead of sending a token
    // about to be replaced or starting a second refresh.
    let used = inflight ? await inflight : token ?? await refresh()
    const sentAt = seq
    let res = await send(m, path, opts.body, used)
    if (res.status === 401) {
      // Replayed once, with the token of a refresh newer than our request, or a new one.
      used = seq !== sentAt && last ? await last : await refresh()
      res = await send(m, path, opts.body, used)
      if (res.status === 401) {
        // Refused even with a fresh token: the session was revoked.
        const err = await toError(res)
        sessionLost()
        throw err
      }
    }
    return await parse<T>(res)
  }

  async function authenticate (path: string, body: unknown): Promise<LoginResult> {
    const result = await parse<LoginResult>(await send('POST', path, body, null, true))
    tokenType = result.tokenType === 'DPoP' ? 'DPoP' : 'Bearer'
    setToken(result.accessToken)
    return result
  }

  return {
    request,
    login: (email, password) => authenticate('/auth/login', { email, password }),
    register: (email, password, name) =>
      authenticate('/auth/register', name ? { email, password, name } : { email, password }),
    async restore () {
      try {
        await startRefresh(false)
        return true
      } catch {
        return false
      }
    },
    async logout () {
      try {
        await parse(await send('POST', '/auth/logout', {}, token))
      } finally {
        setToken(null)
      }
    },
    async logoutAll () {
      try {
        await request('POST', '/auth/logout-all', { body: {} })
      } finally {
        setToken(null)
      }
    },
    accessToken: () => token,
    async webSocketProtocols (path) {
      const used = inflight ? await inflight : token ?? await refresh()
      const prover = await options.dpop
      if (tokenType !== 'DPoP' || !prover) return []
      const target = new URL(baseUrl + path, globalThis.location?.href)
      return [`dpop.${await prover('GET', target.origin + target.pathname, used)}`, `token.${used}`]
    },
    async renew () { await refresh() },
  }
}

async function parse<T> (res: Response): Promise<T> {
  if (!res.ok) throw await toError(res)
  if (res.status === 204) return undefined as T
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

async function toError (res: Response): Promise<ApiError> {
  let code = 'http_' + res.status
  let message = `${res.status} ${res.statusText}`.trim()
  try {
    const body = await res.json() as { error?: unknown, message?: unknown }
    if (typeof body.error === 'string') code = body.error
    if (typeof body.message === 'string') message = body.message
  } catch {}
  return new ApiError(res.status, code, message)
}

/** navigator.locks when present (browsers): one tab refreshes at a time, the cookie jar is shared. */
function defaultRefreshLock (): <T>(run: () => Promise<T>) => Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  if (!locks) return (run) => run()
  return (run) => locks.request('jwt-edge-refresh', run) as Promise<never>
}
