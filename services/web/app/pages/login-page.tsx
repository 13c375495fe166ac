import { useState, type FormEvent } from 'react'
import { api, sessionStore } from '../session.js'
import { navigate } from '../router.js'
import { Link } from '../components/link.js'
import { describeError, ErrorMessage } from '../components/error-message.js'

export function LoginPage ({ ended }: { ended: boolean }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function onSubmit (event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const { user } = await api.login(email, password)
      sessionStore.signedIn(user)
      navigate('/orders')
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className='card narrow' data-testid='login-page'>
      <h1>Log in</h1>
      {ended && (
        <p className='notice' role='status' data-testid='session-ended'>Your session has ended. Please log in again.</p>
      )}
      <form onSubmit={onSubmit}>
        <label htmlFor='login-email'>Email</label>
        <input
          id='login-email'
          name='email'
          type='email'
          autoComplete='username'
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          data-testid='login-email'
        />
        <label htmlFor='login-password'>Password</label>
        <input
          id='login-password'
          name='password'
          type='password'
          autoComplete='current-password'
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid='login-password'
        />
        <button type='submit' disabled={busy} data-testid='login-submit'>Log in</button>
      </form>
      <ErrorMessage error={error} testId='login-error' />
      <p>No account yet? <Link to='/register' testId='to-register'>Register</Link></p>
    </section>
  )
}
