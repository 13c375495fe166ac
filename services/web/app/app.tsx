/**
 * The app shell: restores the session on load, guards pages, and shows the header with
 * the token countdown. Routes: /login, /register, /orders, /sessions, /admin (role admin).
 */
import { useEffect, useSyncExternalStore } from 'react'
import { api, restoreSession, sessionStore, type SessionState } from './session.js'
import { navigate, usePath } from './router.js'
import { Link } from './components/link.js'
import { TokenCountdown } from './components/token-countdown.js'
import { LoginPage } from './pages/login-page.js'
import { RegisterPage } from './pages/register-page.js'
import { OrdersPage } from './pages/orders-page.js'
import { SessionsPage } from './pages/sessions-page.js'
import { AdminPage } from './pages/admin-page.js'

const PUBLIC = new Set(['/login', '/register'])
const PRIVATE = new Set(['/orders', '/sessions', '/admin'])

function displayName (user: SessionState['user']): string {
  if (user?.email) return user.email
  // After a reload only the id is known (the token and /api/users/me carry no email).
  return user?.id ? `user ${user.id.slice(0, 8)}` : ''
}

export function App () {
  const session = useSyncExternalStore(sessionStore.subscribe, sessionStore.get)
  const path = usePath()

  useEffect(() => { restoreSession() }, [])

  const isAdmin = (session.user?.roles ?? []).includes('admin')

  // Redirects once we know whether there is a session (and, for /admin, the admin role).
  useEffect(() => {
    if (session.status === 'restoring') return
    const allowed = PRIVATE.has(path) && (path !== '/admin' || isAdmin)
    if (session.status === 'authenticated' && !allowed) navigate('/orders', { replace: true })
    if (session.status === 'anonymous' && !PUBLIC.has(path)) navigate('/login', { replace: true })
  }, [session.status, path, isAdmin])

  async function onLogout () {
    try { await api.logout() } catch { /* the cookies are cleared or already gone */ }
    sessionStore.signedOut()
    navigate('/login')
  }

  if (session.status === 'restoring') return <main className='loading' data-testid='restoring'>Loading…</main>

  const authed = session.status === 'authenticated'
  // Display only: the gateway and the auth service decide who may use the admin API.
  const admin = authed && isAdmin
  return (
    <>
      <header className='top'>
        <span className='brand'>jwt-edge</span>
        {authed && (
          <nav aria-label='Main'>
            <Link to='/orders' testId='nav-orders'>Orders</Link>
            <Link to='/sessions' testId='nav-sessions'>Sessions</Link>
            {admin && <Link to='/admin' testId='nav-admin'>Admin</Link>}
          </nav>
        )}
        {authed && (
          <div className='who'>
            <span data-testid='current-user'>{displayName(session.user)}</span>
            <TokenCountdown token={session.token} />
            <button type='button' onClick={onLogout} data-testid='logout'>Log out</button>
          </div>
        )}
      </header>
      <main>
        {authed && path === '/sessions' && <SessionsPage />}
        {admin && path === '/admin' && <AdminPage />}
        {authed && path !== '/sessions' && !(admin && path === '/admin') && <OrdersPage />}
        {!authed && path === '/register' && <RegisterPage />}
        {!authed && path !== '/register' && <LoginPage ended={session.ended} />}
      </main>
    </>
  )
}
