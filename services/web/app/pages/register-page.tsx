import { useState, type FormEvent } from 'react'
import { api, sessionStore } from '../session.js'
import { navigate } from '../router.js'
import { Link } from '../components/link.js'
import { describeError, ErrorMessage } from '../components/error-message.js'

export function RegisterPage () {
  const [name, setName] = useState('')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function onSubmit (event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const { user } = await api.register(email, password, name.trim() || undefined)
      sessionStore.signedIn(user)
      navigate('/orders')
    } catch (err) {
      setError(describeError(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className='card narrow' data-testid='register-page'>
      <h1>Create an account</h1>
      <form onSubmit={onSubmit}>
        <label htmlFor='register-name'>Name (optional)</label>
        <input
          id='register-name'
          name='name'
          autoComplete='name'
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
          data-testid='register-name'
        />
        <label htmlFor='register-email'>Email</label>
        <input
          id='register-email'
          name='email'
          type='email'
          autoComplete='username'
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          data-testid='register-email'
        />
        <label htmlFor='register-password'>Password (10 to 128 characters)</label>
        <input
          id='register-password'
          name='password'
          type='password'
          autoComplete='new-password'
          required
          minLength={10}
          maxLength={128}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid='register-password'
        />
        <button type='submit' disabled={busy} data-testid='register-submit'>Register</button>
      </form>
      <ErrorMessage error={error} testId='register-error' />
      <p>Already registered? <Link to='/login' testId='to-login'>Log in</Link></p>
    </section>
  )
}
