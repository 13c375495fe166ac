import { useEffect, useState } from 'react'
import { tokenExpiry } from '../browser.js'

/** Seconds until the in-memory access token expires, from its `exp` (display only). */
export function TokenCountdown ({ token }: { token: string | null }) {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 500)
    return () => clearInterval(timer)
  }, [])
  const exp = tokenExpiry(token)
  if (exp === null) return <span className='countdown' data-testid='token-countdown'>no access token</span>
  const left = Math.max(0, Math.ceil(exp - now / 1000))
  return (
    <span
      className={left > 0 ? 'countdown' : 'countdown expired'}
      data-testid='token-countdown'
      data-seconds-left={left}
      aria-live='off'
    >
      {left > 0 ? `access token expires in ${left} s` : 'access token expired, renewed on the next call'}
    </span>
  )
}
