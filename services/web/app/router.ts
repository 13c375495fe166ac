/**
 * A minimal History-API router: the current path as React state, and navigate().
 */
import { useSyncExternalStore } from 'react'

const listeners = new Set<() => void>()
function emit (): void { for (const l of listeners) l() }
window.addEventListener('popstate', emit)

export function navigate (path: string, opts: { replace?: boolean } = {}): void {
  if (path === window.location.pathname) return
  if (opts.replace) window.history.replaceState(null, '', path)
  else window.history.pushState(null, '', path)
  emit()
}

export function usePath (): string {
  return useSyncExternalStore(
    (l) => { listeners.add(l); return () => { listeners.delete(l) } },
    () => window.location.pathname
  )
}
