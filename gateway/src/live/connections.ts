/**
 * The open WebSockets and event streams of this worker, indexed by session id and by user, so
 * that what ends a token ends its connections too:
 *
 * - a timer at the token's `exp` plus the clock tolerance ('expired')
 * - the revocation channel's messages (plugins/revocations.ts): a session, or a user's "not
 *   before" (logout-all, reuse detection, account disabled) ('revoked')
 * - a JWKS refetch that no longer holds the token's signing key ('revoked')
 * - the rule's idleTimeoutMs (nothing sent either way) and maxLifetimeMs ('idle', 'lifetime')
 *
 * The registry decides when; the connection (websocket.ts, event-stream.ts) decides how: its
 * `end(reason)` closes it once. A connection that ends by itself reports `closed(reason)`.
 */
import type { RevocationMessage } from '../../../auth-service/src/contract.js'

export type LiveKind = 'websocket' | 'sse'
/** Why the registry ends a connection (its `end`). */
export type EndReason = 'expired' | 'revoked' | 'idle' | 'lifetime' | 'shutdown'
/** Every way a connection ends: the registry's reasons, or it ended by itself. */
export type CloseReason = EndReason | 'upstream' | 'client' | 'too_large'
export const LIVE_KINDS: readonly LiveKind[] = ['websocket', 'sse']

/** Who holds the connection, from the verified token; null on a route without identity. */
export interface LiveOwner {
  sid: string
  sub: string
  /** Seconds. */
  iat: number
  /** Seconds: the connection ends at exp + the clock tolerance. */
  exp: number
  /** Set for the auth service's tokens: revocations and key removal apply. */
  kid?: string
}

export interface LiveConnection {
  readonly kind: LiveKind
  readonly owner: LiveOwner | null
  readonly idleTimeoutMs: number
  /** 0: none. */
  readonly maxLifetimeMs: number
  /** Close it now, for this reason (called at most once). */
  end: (reason: EndReason) => void
}

export interface LiveHandle {
  /** Something was sent either way: the idle timer starts again. */
  touch: () => void
  /** It ended by itself (client, upstream, a limit): forget it. A second call does nothing. */
  closed: (reason: CloseReason) => void
}

export interface LiveConnections {
  open: (connection: LiveConnection) => LiveHandle
  /** Ends what a revocation message revokes; returns how many. */
  revoke: (message: RevocationMessage) => number
  /** Ends the auth service's connections that `isRevoked` says are revoked; returns how many. */
  sweep: (isRevoked: (sid: string, sub: string, iat: number) => boolean) => number
  /** Ends the auth service's connections whose key is no longer held; returns how many. */
  keysChanged: (heldKids: ReadonlySet<string>) => number
  endAll: (reason: EndReason) => void
  count: (kind: LiveKind) => number
}

export interface LiveConnectionsOptions {
  clockToleranceS: number
  /** Every close, once, with its reason (metrics). */
  onClose?: (kind: LiveKind, reason: CloseReason) => void
}

/** setTimeout's limit (about 24.8 days): a later deadline is re-armed when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

interface Entry {
  readonly connection: LiveConnection
  expiry: NodeJS.Timeout | undefined
  idle: NodeJS.Timeout | undefined
  lifetime: NodeJS.Timeout | undefined
  done: boolean
}

function addTo (index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  let set = index.get(key)
  if (set === undefined) index.set(key, set = new Set())
  set.add(entry)
}

function removeFrom (index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  const set = index.get(key)
  if (set === undefined) return
  set.delete(entry)
  if (set.size === 0) index.delete(key)
}

export function createLiveConnections (opts: LiveConnectionsOptions): LiveConnections {
  const all = new Set<Entry>()
  const bySession = new Map<string, Set<Entry>>()
  const byUser = new Map<string, Set<Entry>>()
  const counts: Record<LiveKind, number> = { websocket: 0, sse: 0 }

  function finish (entry: Entry, reason: CloseReason): void {
    if (entry.done) return
    entry.done = true
    clearTimeout(entry.expiry)
    clearTimeout(entry.idle)
    clearTimeout(entry.lifetime)
    all.delete(entry)
    const { owner, kind } = entry.connection
    if (owner?.kid !== undefined) {
      removeFrom(bySession, owner.sid, entry)
      removeFrom(byUser, owner.sub, entry)
    }
    counts[kind]--
    opts.onClose?.(kind, reason)
  }

  function end (entry: Entry, reason: EndReason): void {
    if (entry.done) return
    finish(entry, reason)
    entry.connection.end(reason)
  }

  function expireAt (entry: Entry, atMs: number): void {
    const wait = atMs - Date.now()
    if (wait <= 0) { end(entry, 'expired'); return }
    entry.expiry = setTimeout(() => expireAt(entry, atMs), Math.min(wait, MAX_TIMER_MS))
    entry.expiry.unref()
  }

  const endEach = (entries: Iterable<Entry> | undefined, reason: EndReason, when: (e: Entry) => boolean): number => {
    if (entries === undefined) return 0
    let ended = 0
    for (const entry of [...entries]) {
      if (when(entry)) { end(entry, reason); ended++ }
    }
    return ended
  }

  return {
    open (connection) {
      const entry: Entry = { connection, expiry: undefined, idle: undefined, lifetime: undefined, done: false }
      all.add(entry)
      counts[connection.kind]++
      const { owner } = connection
      if (owner?.kid !== undefined) {
        addTo(bySession, owner.sid, entry)
        addTo(byUser, owner.sub, entry)
      }
      if (owner !== null) expireAt(entry, (owner.exp + opts.clockToleranceS) * 1000)
      if (connection.maxLifetimeMs > 0) {
        entry.lifetime = setTimeout(() => end(entry, 'lifetime'), Math.min(connection.maxLifetimeMs, MAX_TIMER_MS))
        entry.lifetime.unref()
      }
      entry.idle = setTimeout(() => end(entry, 'idle'), Math.min(connection.idleTimeoutMs, MAX_TIMER_MS))
      entry.idle.unref()
      return {
        touch: () => { if (!entry.done) entry.idle!.refresh() },
        closed: (reason) => finish(entry, reason),
      }
    },
    revoke (m) {
      if (m.type === 'session') return endEach(bySession.get(m.sid), 'revoked', () => true)
      return endEach(byUser.get(m.sub), 'revoked', (e) => e.connection.owner!.iat * 1000 < m.notBefore)
    },
    sweep (isRevoked) {
      return endEach(all, 'revoked', ({ connection: { owner } }) => {
        return owner?.kid !== undefined && isRevoked(owner.sid, owner.sub, owner.iat)
      })
    },
    keysChanged (heldKids) {
      return endEach(all, 'revoked', ({ connection: { owner } }) => {
        return owner?.kid !== undefined && !heldKids.has(owner.kid)
      })
    },
    endAll (reason) { endEach(all, reason, () => true) },
    count: (kind) => counts[kind],
  }
}
