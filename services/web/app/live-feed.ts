/**
 * A live feed over a WebSocket through the gateway, kept open across token lifetimes: the
 * gateway closes a socket with 4401 when its token expires or its session is revoked. On
 * expiry the feed gets a new token and reconnects at once; on revocation it stops and says
 * so; any other close (a restart, the network) is retried with a growing delay. Each open
 * calls `onOpen`, so the page reloads what it may have missed in between.
 */
import type { ApiClient } from './api-client.js'

export type FeedStatus =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'closed', code: number, reason: string, retrying: boolean }

export interface FeedOptions<T> {
  path: string
  api: Pick<ApiClient, 'webSocketProtocols' | 'renew'>
  onMessage: (message: T) => void
  onOpen: () => void
  onStatus: (status: FeedStatus) => void
}

/** The gateway's close code for an expired or revoked token (the 401 of sockets). */
export const TOKEN_CLOSE_CODE = 4401
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000]

/** Opens the feed; returns the function that stops it. */
export function openFeed<T> (opts: FeedOptions<T>): () => void {
  let stopped = false
  let socket: WebSocket | null = null
  let failures = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  async function connect (): Promise<void> {
    if (stopped) return
    opts.onStatus({ state: 'connecting' })
    let protocols: string[]
    try {
      protocols = await opts.api.webSocketProtocols(opts.path)
    } catch {
      return retry(1006, 'no session')
    }
    if (stopped) return
    const url = new URL(opts.path, location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    const ws = socket = new WebSocket(url, protocols)
    ws.onopen = () => {
      failures = 0
      opts.onStatus({ state: 'open' })
      opts.onOpen()
    }
    ws.onmessage = (event) => {
      try { opts.onMessage(JSON.parse(String(event.data)) as T) } catch {}
    }
    ws.onclose = (event) => {
      socket = null
      if (stopped) return
      if (event.code === TOKEN_CLOSE_CODE && event.reason === 'session revoked') {
        opts.onStatus({ state: 'closed', code: event.code, reason: event.reason, retrying: false })
        return
      }
      if (event.code === TOKEN_CLOSE_CODE) {
        opts.onStatus({ state: 'closed', code: event.code, reason: event.reason, retrying: true })
        opts.api.renew().then(connect, () => {})
        return
      }
      retry(event.code, event.reason)
    }
  }

  function retry (code: number, reason: string): void {
    opts.onStatus({ state: 'closed', code, reason, retrying: true })
    timer = setTimeout(() => { connect() }, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)])
  }

  connect()
  return () => {
    stopped = true
    clearTimeout(timer)
    socket?.close(1000)
  }
}
