import { useCallback, useEffect, useState } from 'react'
import { api, sessionStore } from '../session.js'
import { navigate } from '../router.js'
import { describeError, ErrorMessage } from '../components/error-message.js'
import { when } from '../format.js'

export interface Session {
  id: string
  createdAt: string
  lastUsedAt: string
  userAgent: string | null
  ip: string | null
  current: boolean
}

export function SessionsPage () {
  const [sessions, setSessions] = useState<Session[] | null>(null)
  const [error, setError] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      const body = await api.request<{ sessions: Session[] }>('GET', '/auth/sessions')
      setSessions(body.sessions)
    } catch (err) {
      setError(describeError(err))
    }
  }, [])

  useEffect(() => { load() }, [load])

  async function onEnd (id: string) {
    setError(null)
    try {
      await api.request('DELETE', `/auth/sessions/${encodeURIComponent(id)}`)
      await load()
    } catch (err) {
      setError(describeError(err))
    }
  }

  async function onLogoutAll () {
    setError(null)
    try {
      await api.logoutAll()
    } catch (err) {
      setError(describeError(err))
      return
    }
    sessionStore.signedOut()
    navigate('/login')
  }

  return (
    <section className='card' data-testid='sessions-page'>
      <h1>Sessions</h1>
      <ErrorMessage error={error} testId='sessions-error' />
      {sessions === null
        ? <p>Loading…</p>
        : (
          <ul className='sessions' data-testid='sessions-list'>
            {sessions.map((s) => (
              <li
                key={s.id}
                className={s.current ? 'current' : undefined}
                data-testid={s.current ? 'session-current' : 'session-other'}
                data-session-id={s.id}
              >
                <div>
                  <strong>{s.current ? 'This device' : (s.userAgent ?? 'Unknown device')}</strong>
                  {s.current && <span className='badge' data-testid='this-device'>current</span>}
                </div>
                <div className='meta'>
                  signed in {when(s.createdAt)} · last used {when(s.lastUsedAt)}{s.ip ? ` · ${s.ip}` : ''}
                </div>
                {!s.current && (
                  <button
                    type='button'
                    onClick={() => onEnd(s.id)}
                    aria-label='End this session'
                    data-testid='end-session'
                  >
                    End session
                  </button>
                )}
              </li>
            ))}
          </ul>
          )}
      <button
        type='button'
        className='danger'
        onClick={onLogoutAll}
        data-testid='logout-all'
      >
        Log out everywhere
      </button>
    </section>
  )
}
