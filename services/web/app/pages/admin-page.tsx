/**
 * The admin page (role admin; the gateway and the auth service check it again): find an
 * account by email, see its sessions, end one or all, disable or enable the account.
 */
import { useState, type FormEvent } from 'react'
import { api } from '../session.js'
import { describeError, ErrorMessage } from '../components/error-message.js'
import { when } from '../format.js'
import type { Session } from './sessions-page.js'

interface AdminUser {
  id: string
  email: string
  roles: string[]
  disabled: boolean
  createdAt: string
}

const userPath = (id: string) => `/auth/admin/users/${encodeURIComponent(id)}`

export function AdminPage () {
  const [email, setEmail] = useState('')
  const [user, setUser] = useState<AdminUser | null>(null)
  const [searched, setSearched] = useState(false)
  const [sessions, setSessions] = useState<Session[]>([])
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function show (address: string): Promise<void> {
    const found = await api.request<{ users: AdminUser[] }>('GET',
      `/auth/admin/users?email=${encodeURIComponent(address)}`)
    const next = found.users[0] ?? null
    setUser(next)
    setSearched(true)
    setSessions(next
      ? (await api.request<{ sessions: Session[] }>('GET', `${userPath(next.id)}/sessions`)).sessions
      : [])
  }

  /** Runs `run` with the busy flag and the error line; an action on `user` then shows the account as it is now. */
  async function act (run: () => Promise<unknown>, reload: AdminUser | null = user): Promise<void> {
    setBusy(true)
    setError(null)
    try {
      await run()
      if (reload) await show(reload.email)
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  async function onSearch (event: FormEvent) {
    event.preventDefault()
    setUser(null)
    await act(() => show(email.trim()), null)
  }

  return (
    <section className='card' data-testid='admin-page'>
      <h1>Admin</h1>
      <form className='inline admin-search' onSubmit={onSearch} aria-label='Find a user'>
        <label htmlFor='admin-email'>Email</label>
        <input
          id='admin-email'
          type='email'
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          data-testid='admin-email'
        />
        <button type='submit' disabled={busy} data-testid='admin-search'>Find</button>
      </form>
      <ErrorMessage error={error} testId='admin-error' />
      {searched && !user && <p data-testid='admin-no-user'>No account with this email.</p>}
      {user && (
        <div className='admin-user' data-testid='admin-user' data-user-id={user.id}>
          <div>
            <strong>{user.email}</strong>
            <span className={user.disabled ? 'badge off' : 'badge'} data-testid='admin-user-status'>
              {user.disabled ? 'disabled' : 'active'}
            </span>
          </div>
          <div className='meta'>id {user.id} · roles {user.roles.join(', ')} · since {when(user.createdAt)}</div>
          {user.disabled
            ? (
              <button
                type='button' disabled={busy} data-testid='admin-enable'
                onClick={() => act(() => api.request('POST', `${userPath(user.id)}/enable`))}
              >
                Enable account
              </button>
              )
            : (
              <button
                type='button' className='danger' disabled={busy} data-testid='admin-disable'
                onClick={() => act(() => api.request('POST', `${userPath(user.id)}/disable`))}
              >
                Disable account
              </button>
              )}
          <h2>Sessions</h2>
          {sessions.length > 0 && (
            <ul className='sessions' data-testid='admin-sessions'>
              {sessions.map((s) => (
                <li key={s.id} data-testid='admin-session' data-session-id={s.id}>
                  <strong>{s.userAgent ?? 'Unknown device'}{s.current ? ' (your session)' : ''}</strong>
                  <div className='meta'>
                    signed in {when(s.createdAt)} · last used {when(s.lastUsedAt)}{s.ip ? ` · ${s.ip}` : ''}
                  </div>
                  <button
                    type='button' disabled={busy} data-testid='admin-end-session'
                    onClick={() => act(() =>
                      api.request('DELETE', `${userPath(user.id)}/sessions/${encodeURIComponent(s.id)}`))}
                  >
                    End session
                  </button>
                </li>
              ))}
            </ul>
          )}
          {sessions.length === 0 && <p className='meta' data-testid='admin-no-sessions'>No live sessions.</p>}
          {sessions.length > 0 && (
            <button
              type='button' className='danger' disabled={busy} data-testid='admin-end-all'
              onClick={() => act(() => api.request('DELETE', `${userPath(user.id)}/sessions`))}
            >
              End all sessions
            </button>
          )}
        </div>
      )}
    </section>
  )
}
