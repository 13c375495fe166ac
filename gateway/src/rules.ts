/**
 * Routing rules as data, compiled once from the gateway file's routes (gateway-file/: the file
 * is validated there, every problem listed, before a rule is made). The route table
 * (route-table.ts) picks one per request, proxy.ts forwards by it; the pipeline stages
 * (pipeline/index.ts) read the policy fields.
 *
 * - `auth`: stage 5 ('required': a token is needed; 'optional': a token is verified when sent,
 *   none is forwarded anonymously; 'none': never read), `roles`: stage 6
 * - `rateLimit`: key 'ip' at stage 4 (before the token is read), key 'user' at stage 8 (per
 *   token `sub`); `methods` and `paths` narrow what is counted, `bucket` shares a counter
 * - `csrf`: 'double-submit' (stage 7, cookie-authenticated unsafe requests) or 'origin'
 *   (stage 7, the Origin check on cookie-carrying unsafe calls to the auth service)
 * - `forwardCredentials`: Authorization and the auth cookies go upstream (mutate.ts)
 * - `bodyLimit`: the largest request body in bytes (stage 2 by Content-Length, proxy.ts while
 *   a chunked body streams)
 * - `timeoutMs`: upstream connect / headers / body timeout (504), default UPSTREAM_TIMEOUT
 * - `identity`: 'both' (identity headers and x-identity-token), 'headers', or 'assertion' only
 *   (identity-assertion/index.ts)
 * - `websocket`: upgrades proxied (live/websocket.ts) with these message and buffer limits;
 *   `idleTimeoutMs` and `maxLifetimeMs` end its sockets and its event streams (live/connections.ts)
 */
import type { HttpMethod, IdentityMode, RateLimitSpec, RouteSpec } from './gateway-file/validate.js'

export type { HttpMethod, RateLimitSpec } from './gateway-file/validate.js'
export type AuthMode = RouteSpec['auth']
export type CsrfPolicy = RouteSpec['csrf']

export const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const
/** Methods forwarded upstream: OPTIONS is always answered by the gateway (pipeline/cors-preflight.ts). */
export const PROXIED_METHODS = HTTP_METHODS.filter((m) => m !== 'OPTIONS')

/** A compiled rule: every field filled in, frozen. */
export interface Rule {
  readonly id: string
  /** Path prefix at the gateway; '/' is the catch-all. */
  readonly prefix: string
  /** Only the prefix path itself, no sub-paths. */
  readonly exact: boolean
  /** The methods routed to this rule (OPTIONS never: the gateway answers it). */
  readonly methods: readonly HttpMethod[]
  readonly upstream: string
  /** Path the prefix is replaced by upstream (the prefix itself: no rewrite). */
  readonly rewritePrefix: string
  readonly auth: AuthMode
  /** Provider ids whose tokens this rule takes (the gateway file's; default every provider). */
  readonly providers: readonly string[]
  /** Roles per method (or '*' for any other method); the identity needs one. Empty: any identity. */
  readonly roles: Readonly<Record<string, readonly string[]>>
  readonly rateLimit: RateLimitSpec | null
  readonly csrf: CsrfPolicy
  readonly forwardCredentials: boolean
  /** Bytes. */
  readonly bodyLimit: number
  /** Milliseconds for the upstream to connect, answer and send its body. */
  readonly timeoutMs: number
  readonly identity: IdentityMode
  /** null: an upgrade is refused (400). */
  readonly websocket: Readonly<WebSocketLimits> | null
  /** A WebSocket or event stream with nothing sent either way for this long is closed. */
  readonly idleTimeoutMs: number
  /** A WebSocket or event stream is closed at this age; 0: only the token's exp ends it. */
  readonly maxLifetimeMs: number
}

export interface WebSocketLimits {
  /** The largest message either way: a bigger one closes the socket with 1009. */
  maxMessageBytes: number
  /** Queued for a slow reader past this, the other side is paused until it drains. */
  maxBufferedBytes: number
}

export const WEBSOCKET_DEFAULTS: Readonly<WebSocketLimits> = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxBufferedBytes: 1024 * 1024,
})
/** nginx closes an idle proxied socket after 60 s; long-lived routes here get five minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000

/** A route's request-body limit when it sets none (Fastify's own default). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024

export interface RuleDefaults {
  /** UPSTREAM_TIMEOUT: a route's timeout when it sets none. */
  upstreamTimeoutMs: number
}

/** The file's routes as rules, in file order (the router picks the longest prefix, not the order). */
export function compileRules (routes: readonly RouteSpec[], defaults: RuleDefaults): readonly Rule[] {
  return Object.freeze(routes.map((r): Rule => Object.freeze({
    id: r.id,
    prefix: r.prefix,
    exact: r.exact,
    methods: Object.freeze(r.methods.filter((m) => m !== 'OPTIONS')),
    upstream: r.upstream,
    rewritePrefix: r.rewritePrefix,
    auth: r.auth,
    providers: r.providers,
    roles: r.roles,
    rateLimit: r.rateLimit,
    // double-submit only ever acts on a cookie-verified identity: an open route has none.
    csrf: r.auth === 'none' && r.csrf === 'double-submit' ? 'none' : r.csrf,
    forwardCredentials: r.forwardCredentials,
    bodyLimit: r.bodyLimit ?? DEFAULT_BODY_LIMIT,
    timeoutMs: r.timeoutMs ?? defaults.upstreamTimeoutMs,
    identity: r.identity,
    websocket: r.websocket === null ? null : Object.freeze({ ...WEBSOCKET_DEFAULTS, ...r.websocket }),
    idleTimeoutMs: r.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxLifetimeMs: r.maxLifetimeMs ?? 0,
  })))
}
