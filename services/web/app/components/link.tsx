import type { MouseEvent, ReactNode } from 'react'
import { navigate } from '../router.js'

/** An <a> that navigates client-side (a real href so it still works as a link). */
export function Link ({ to, children, testId }: { to: string, children: ReactNode, testId?: string }) {
  function onClick (event: MouseEvent<HTMLAnchorElement>) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return
    event.preventDefault()
    navigate(to)
  }
  return <a href={to} onClick={onClick} data-testid={testId}>{children}</a>
}
