/**
 * Revocation: the revoked sessions (sid -> until) and per-user "not before" times, held in
 * memory so the per-request check is two Map lookups. Loaded from the auth service's Redis
 * sorted sets at start and after every reconnect, kept current from its pub/sub channel,
 * pruned periodically. With Redis down the gateway keeps serving with the last set it had.
 */
import { createSubscriber, type RedisClient } from '../../../services/kernel/redis.js'
import { REVOCATION, parseRevocationMessage, type RevocationMessage } from '../../../auth-service/src/contract.js'

export interface RevocationStoreOptions {
  /** A regular (non-subscriber) client without keyPrefix; a duplicate is made for pub/sub. */
  redis: RedisClient
  prefix: string
  /** How long a user "not before" loaded from the sorted set is kept (the set has no end time). */
  userRetentionMs: number
  pruneIntervalMs?: number
  /** Called for every well-formed message from the channel, after it is applied (metrics). */
  onMessage?: (message: RevocationMessage) => void
  log?: { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }
}

export interface RevocationStore {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** True when this token (by its sid, sub and iat in seconds) has been revoked. */
  isRevoked: (sid: string, sub: string, iat: number) => boolean
  apply: (message: RevocationMessage) => void
  /** Redis connections up and the sets loaded since the last (re)connect. */
  isHealthy: () => boolean
  counts: () => { sessions: number, users: number }
  /** Resolves once the sets have been loaded at least once (for tests and readiness). */
  loaded: () => Promise<void>
}

const DEFAULT_PRUNE_INTERVAL_MS = 30_000

export function createRevocationStore (opts: RevocationStoreOptions): RevocationStore {
  const sessions = new Map<string, number>()
  const users = new Map<string, { notBefore: number, until: number }>()
  const channel = REVOCATION.channel(opts.prefix)
  let subscriber: RedisClient | null = null
  let pruneTimer: NodeJS.Timeout | null = null
  let synced = false
  let loading: Promise<void> | null = null
  let resolveLoaded: () => void = () => {}
  const firstLoad = new Promise<void>((resolve) => { resolveLoaded = resolve })

  function apply (m: RevocationMessage): void {
    if (m.until <= Date.now()) return
    if (m.type === 'session') {
      sessions.set(m.sid, Math.max(m.until, sessions.get(m.sid) ?? 0))
    } else {
      const old = users.get(m.sub)
      users.set(m.sub, {
        notBefore: Math.max(m.notBefore, old?.notBefore ?? 0),
        until: Math.max(m.until, old?.until ?? 0),
      })
    }
  }

  async function load (): Promise<void> {
    const now = Date.now()
    const [s, u] = await Promise.all([
      opts.redis.zrangebyscore(REVOCATION.sessionsKey(opts.prefix), String(now), '+inf', 'WITHSCORES'),
      opts.redis.zrange(REVOCATION.usersKey(opts.prefix), '0', '-1', 'WITHSCORES'),
    ])
    for (let i = 0; i + 1 < s.length; i += 2) {
      apply({ type: 'session', sid: s[i] as string, until: Number(s[i + 1]) })
    }
    for (let i = 0; i + 1 < u.length; i += 2) {
      const notBefore = Number(u[i + 1])
      apply({ type: 'user', sub: u[i] as string, notBefore, until: notBefore + opts.userRetentionMs })
    }
    synced = true
    resolveLoaded()
    opts.log?.info({ sessions: sessions.size, users: users.size }, 'revocations loaded')
  }

  function reload (): void {
    loading ??= load()
      .catch((err: Error) => { synced = false; opts.log?.warn({ err: err.message }, 'revocations load failed') })
      .finally(() => { loading = null })
  }

  function prune (): void {
    const now = Date.now()
    for (const [sid, until] of sessions) if (until <= now) sessions.delete(sid)
    for (const [sub, entry] of users) if (entry.until <= now) users.delete(sub)
  }

  return {
    async start () {
      subscriber = createSubscriber(opts.redis)
      subscriber.on('error', () => {}) // reconnects on its own; health is read from status
      subscriber.on('message', (ch: string, raw: string) => {
        if (ch !== channel) return
        const m = parseRevocationMessage(raw)
        if (m) {
          apply(m)
          opts.onMessage?.(m)
        } else opts.log?.warn({ channel }, 'revocation message ignored (bad shape)')
      })
      // Subscribe first, then (re)load on every ready: nothing published in between is lost.
      subscriber.on('ready', reload)
      subscriber.on('close', () => { synced = false })
      opts.redis.on('ready', reload)
      subscriber.subscribe(channel)
        .catch((err: Error) => opts.log?.warn({ err: err.message }, 'revocation subscribe failed'))
      if (opts.redis.status === 'ready') reload()
      pruneTimer = setInterval(prune, opts.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS)
      pruneTimer.unref()
    },
    async stop () {
      if (pruneTimer) clearInterval(pruneTimer)
      opts.redis.off('ready', reload)
      subscriber?.disconnect()
      subscriber = null
    },
    isRevoked (sid, sub, iat) {
      const until = sessions.get(sid)
      if (until !== undefined && until > Date.now()) return true
      const user = users.get(sub)
      return user !== undefined && iat * 1000 < user.notBefore
    },
    apply,
    isHealthy: () => synced && opts.redis.status === 'ready' && subscriber?.status === 'ready',
    counts: () => ({ sessions: sessions.size, users: users.size }),
    loaded: () => firstLoad,
  }
}
