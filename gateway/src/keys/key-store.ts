/**
 * Key store: one token provider's public keys (the auth service's, from JWKS_URL, or another
 * issuer's), fetched from its JWKS and held by kid.
 *
 * - the JWKS URL is given, or found by OIDC discovery (`discoveryIssuer`: its
 *   /.well-known/openid-configuration must name the same issuer and a jwks_uri), resolved on the
 *   first fetch that succeeds and then kept
 * - only keys for the provider's algorithms are held: RSA for RS256, EC P-256 for ES256
 *
 * - Periodic refresh every `refreshIntervalMs`; after a failure, retries with backoff
 *   (250 ms doubling, capped at the interval) so a gateway started before the auth service
 *   gets its keys quickly.
 * - Unknown kid: at most one refetch at a time (single flight), and none within `cooldownMs`
 *   of the previous fetch, so a flood of bogus kids costs a handful of fetches at most.
 * - Auth service down: cached keys stay usable until `maxStaleMs` after the last successful
 *   fetch, then `getKey` throws keys_unavailable (503), not a 401. While stale, a request
 *   may trigger a refetch (same cooldown), so recovery does not wait for the next timer.
 * - Each fetch is a `jwks fetch` span while tracing is on (its HTTP call a child span, with the
 *   gateway's traceparent); a refetch for a request's unknown kid is part of that request's trace.
 */
import { importJWK, type CryptoKey, type JWK, type JWSHeaderParameters } from 'jose'
import { inSpan } from '../../../services/kernel/tracing.js'
import { invalidToken, keysUnavailable } from '../errors.js'

export type KeyAlgorithm = 'RS256' | 'ES256'

export interface KeyStoreOptions {
  /** The JWKS URL; or '' with `discoveryIssuer`. */
  jwksUrl: string
  /** Find the JWKS URL through this issuer's openid-configuration. */
  discoveryIssuer?: string
  /** Default [RS256]. */
  algorithms?: readonly KeyAlgorithm[]
  refreshIntervalMs: number
  cooldownMs: number
  maxStaleMs: number
  timeoutMs: number
  log?: { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }
  /** Called after every fetch attempt (metrics). */
  onFetch?: (result: 'ok' | 'error') => void
}

export interface HeldKey { kid: string, firstSeenAt: number }

interface Entry { key: CryptoKey, firstSeenAt: number }

export interface KeyStore {
  /** Starts fetching (first fetch now). Not awaited by the app: readiness tells when keys are there. */
  start: () => void
  stop: () => void
  /** The getKey function for jose jwtVerify. */
  getKey: (header: JWSHeaderParameters) => Promise<CryptoKey>
  /** Is this key object one of the keys held now, and the key set fresh? (No fetching.) */
  isCurrentKey: (key: CryptoKey) => boolean
  /** Fetches now unless a fetch is in flight (then joins it). Resolves true on success. */
  refresh: () => Promise<boolean>
  /** Keys are loaded and not older than maxStale. */
  isUsable: () => boolean
  heldKeys: () => HeldKey[]
  /** ms epoch of the last successful fetch (0: never). */
  lastSuccessAt: () => number
  fetchCount: () => number
}

/** A JWKS should carry public keys only; any private parts are dropped before import. */
const NO_PRIVATE_PARTS = { d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined }
const BACKOFF_START_MS = 250
/** Retries after failures never wait longer than this, so a long outage ends quickly once the JWKS is back. */
const BACKOFF_MAX_MS = 30_000

/** The algorithm a JWK is held for, or undefined when the provider takes none of its kind. */
function algorithmOf (jwk: JWK, allowed: readonly KeyAlgorithm[]): KeyAlgorithm | undefined {
  const alg = jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined
  if (alg === undefined || !allowed.includes(alg)) return undefined
  return jwk.alg === undefined || jwk.alg === alg ? alg : undefined
}

/** OIDC discovery: the issuer's jwks_uri, from a document that names the same issuer. */
export async function discoverJwksUrl (issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  if (res.status !== 200) throw new Error(`openid-configuration answered ${res.status}`)
  const doc = await res.json() as { issuer?: unknown, jwks_uri?: unknown }
  if (doc?.issuer !== issuer) throw new Error('openid-configuration names another issuer')
  const jwks = doc.jwks_uri
  if (typeof jwks !== 'string' || !URL.canParse(jwks) || !/^https?:$/.test(new URL(jwks).protocol)) {
    throw new Error('openid-configuration has no http(s) jwks_uri')
  }
  return jwks
}

export function createKeyStore (opts: KeyStoreOptions): KeyStore {
  const algorithms = opts.algorithms ?? ['RS256']
  let jwksUrl = opts.jwksUrl
  let keys = new Map<string, Entry>()
  let currentKeys = new Set<CryptoKey>()
  let lastSuccessAt = 0
  let lastAttemptAt = 0
  let pending: Promise<boolean> | null = null
  let fetches = 0
  let failures = 0
  let timer: NodeJS.Timeout | null = null
  let stopped = true

  const load = () => inSpan('jwks fetch', { 'url.full': jwksUrl || `discovery:${opts.discoveryIssuer}` },
    async (span) => {
      const ok = await fetchKeys()
      span.setAttributes({ 'jwks.result': ok ? 'ok' : 'error', 'jwks.keys': keys.size })
      return ok
    })

  async function fetchKeys (): Promise<boolean> {
    fetches++
    lastAttemptAt = Date.now()
    try {
      if (jwksUrl === '' && opts.discoveryIssuer !== undefined) {
        jwksUrl = await discoverJwksUrl(opts.discoveryIssuer, opts.timeoutMs)
      }
      const signal = AbortSignal.timeout(opts.timeoutMs)
      const res = await fetch(jwksUrl, { signal, headers: { accept: 'application/json' } })
      if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`)
      const body = await res.json() as { keys?: unknown }
      if (!Array.isArray(body?.keys)) throw new Error('JWKS has no keys array')
      const next = new Map<string, Entry>()
      for (const jwk of body.keys as JWK[]) {
        if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string') continue
        const alg = algorithmOf(jwk, algorithms)
        if (alg === undefined || (jwk.use !== undefined && jwk.use !== 'sig')) continue
        try {
          const key = await importJWK({ ...jwk, ...NO_PRIVATE_PARTS }, alg)
          next.set(jwk.kid, { key: key as CryptoKey, firstSeenAt: keys.get(jwk.kid)?.firstSeenAt ?? Date.now() })
        } catch (err) {
          opts.log?.warn({ kid: jwk.kid, err: (err as Error).message }, 'JWKS key skipped')
        }
      }
      if (next.size === 0) throw new Error(`JWKS has no usable ${algorithms.join('/')} key`)
      keys = next
      currentKeys = new Set([...next.values()].map((e) => e.key))
      lastSuccessAt = Date.now()
      failures = 0
      opts.onFetch?.('ok')
      return true
    } catch (err) {
      failures++
      const source = jwksUrl || opts.discoveryIssuer
      opts.log?.warn({ jwksUrl: source, err: (err as Error).message }, 'JWKS fetch failed')
      opts.onFetch?.('error')
      return false
    }
  }

  function refresh (): Promise<boolean> {
    pending ??= load().finally(() => { pending = null })
    return pending
  }

  function schedule (): void {
    if (stopped) return
    const delay = failures === 0
      ? opts.refreshIntervalMs
      : Math.min(BACKOFF_START_MS * 2 ** Math.min(failures - 1, 16), BACKOFF_MAX_MS, opts.refreshIntervalMs)
    timer = setTimeout(() => { refresh().finally(schedule) }, delay)
    timer.unref()
  }

  const isUsable = () => lastSuccessAt > 0 && Date.now() - lastSuccessAt <= opts.maxStaleMs

  const mayFetch = () => pending !== null || Date.now() - lastAttemptAt >= opts.cooldownMs

  async function getKey (header: JWSHeaderParameters): Promise<CryptoKey> {
    if (!isUsable()) {
      // Stale or never loaded: one request per cooldown may try the JWKS again (the rest wait for it or get 503).
      if (!mayFetch() || !(await refresh())) throw keysUnavailable()
    }
    const kid = header.kid as string
    const found = keys.get(kid)
    if (found) return found.key
    // Unknown kid: join a fetch in flight, or start one if the cooldown allows; never more.
    if (mayFetch()) {
      await refresh()
      const again = keys.get(kid)
      if (again) return again.key
    }
    throw invalidToken('no_matching_key', 'no key matches the token kid')
  }

  return {
    start () {
      if (!stopped) return
      stopped = false
      refresh().finally(schedule)
    },
    stop () {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
    },
    getKey,
    isCurrentKey: (key) => currentKeys.has(key) && isUsable(),
    refresh,
    isUsable,
    heldKeys: () => [...keys.entries()].map(([kid, e]) => ({ kid, firstSeenAt: e.firstSeenAt })),
    lastSuccessAt: () => lastSuccessAt,
    fetchCount: () => fetches,
  }
}
