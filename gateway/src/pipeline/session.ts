/**
 * The one per-request value the stages share (Oathkeeper's AuthenticationSession), under a
 * private symbol: opened before stage 1 of the pipeline (index.ts) and read by the proxy and the
 * response hooks.
 *
 * - `active` is the configuration in force when the request came (active-config.ts): the request
 *   finishes on it even if a reload swaps another in meanwhile
 * - `rule` is what that configuration's table picked for a request to the proxy's catch-all
 *   route (proxy.ts); no rule: an own route or a 404
 * - `identity` and `credentialSource` are set by stage 5 only, from a verified token
 * - `clientIp` and `protocol` are read before stage 1 strips the forwarding headers
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Identity } from '../contract.js'
import type { ActiveConfig } from '../active-config.js'
import type { Rule } from '../rules.js'
import { kUpgrade } from '../live/upgrades.js'

export const kGatewaySession: unique symbol = Symbol('gateway session')

export interface GatewaySession {
  readonly active: ActiveConfig
  rule: Rule | undefined
  /** Set only from a verified access token. */
  identity: Identity | null
  /** That token's `exp` (seconds; 0 without identity): the identity assertion never outlives it. */
  tokenExp: number
  /** The verified token and its provider's id (live connections read its iat and kid); null when none. */
  token: string | null
  provider: string | null
  /** A WebSocket upgrade (live/upgrades.ts): only a rule with `websocket` takes it. */
  upgrade: boolean
  /** Where the verified token came from (double-submit CSRF applies to 'cookie' only); null when none. */
  credentialSource: 'header' | 'cookie' | null
  /** request.ip, which believes forwarding headers only from TRUST_PROXY peers. */
  clientIp: string
  /** request.protocol, read before x-forwarded-proto goes. */
  protocol: string
  /** The metrics' route label: the rule id, else the route's URL pattern, else 'not_found'. */
  routeLabel: string
  /** Answered by the gateway's own 404 (no route, or a JSON-only prefix): the 404 limiter counts it. */
  notFound: boolean
  /** A streamed (chunked) body went over the rule's bodyLimit: the proxy's error is a 413. */
  bodyTooLarge: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    /** null until the pipeline opens it (a request Fastify refuses before onRequest has none). */
    [kGatewaySession]: GatewaySession | null
  }
  interface FastifyContextConfig {
    /** The proxy's catch-all route (proxy.ts): the active configuration's table picks the rule. */
    gatewayProxy?: boolean
  }
}

export function decorateSession (app: FastifyInstance): void {
  app.decorateRequest(kGatewaySession, null)
}

/** Opens the session: before stage 1, since the client address may come from forwarding headers. */
export function openSession (request: FastifyRequest, active: ActiveConfig): GatewaySession {
  // routeOptions is a new object on every read: read once.
  const { config, url } = request.routeOptions
  const proxied = config?.gatewayProxy === true
  const rule = proxied ? active.table.match(request.method, request.url).rule : undefined
  const session: GatewaySession = {
    active,
    rule,
    identity: null,
    tokenExp: 0,
    credentialSource: null,
    token: null,
    provider: null,
    upgrade: request.raw[kUpgrade] !== undefined,
    clientIp: request.ip,
    protocol: request.protocol,
    routeLabel: rule?.id ?? (proxied ? 'not_found' : url ?? 'not_found'),
    notFound: rule === undefined && (url === undefined || proxied),
    bodyTooLarge: false,
  }
  request[kGatewaySession] = session
  return session
}
