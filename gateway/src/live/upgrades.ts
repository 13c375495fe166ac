/**
 * WebSocket upgrades through the pipeline: Node emits an upgrade apart from requests, so each
 * is sent through Fastify's router with a response bound to its socket (as @fastify/http-proxy
 * and @fastify/websocket do). It then runs every stage like any request; a refusal is an
 * ordinary HTTP answer (status, JSON error) after which the socket closes; the proxy
 * (websocket.ts) takes over the socket of an upgrade it accepts.
 *
 * A browser cannot set headers on a WebSocket, so a DPoP-bound session (RFC 9449) offers its
 * proof and its token as subprotocols, `dpop.<proof>` and `token.<access token>` (the token may
 * also come from the access cookie); without an Authorization header the upgrade is then read
 * as `Authorization: DPoP <token>` with `DPoP: <proof>`, checked by stage 5d like any DPoP
 * request (the token from the page's own memory, so its proof's ath always matches). Neither
 * entry is offered upstream; the handshake's answer names the proof's entry when the upstream
 * picks no subprotocol (a browser that offered one needs one back).
 */
import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { COOKIES } from '../../../auth-service/src/contract.js'
import { cookieValues } from '../pipeline/http.js'

export const kUpgrade: unique symbol = Symbol('websocket upgrade')

export interface PendingUpgrade {
  readonly socket: Duplex
  readonly head: Buffer
  /** The Upgrade header as sent (stage 1 strips it, a hop-by-hop header, before the proxy needs it). */
  readonly upgrade: string
  /** Set by the proxy when the answer is the upstream's refusal or failure (websocket.ts). */
  refusal?: 'upstream_refused' | 'upstream_failed'
}

/** Refusals by the pipeline, named by their status. */
const REFUSALS: Readonly<Record<number, string>> = Object.freeze({
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 429: 'rate_limited', 503: 'unavailable',
})

declare module 'node:http' {
  interface IncomingMessage {
    [kUpgrade]?: PendingUpgrade
  }
}

export const SUBPROTOCOL_PREFIX = { proof: 'dpop.', token: 'token.' } as const
/** Entries that carry credentials: never offered upstream. */
export const isCredentialSubprotocol = (p: string): boolean =>
  p.startsWith(SUBPROTOCOL_PREFIX.proof) || p.startsWith(SUBPROTOCOL_PREFIX.token)

const entriesOf = (entries: string[], prefix: string): string[] =>
  entries.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length))

/** Moves `dpop.<proof>`, and `token.<jwt>` or the access cookie, into the DPoP headers (see above). */
export function dpopFromSubprotocol (raw: IncomingMessage): void {
  const offered = raw.headers['sec-websocket-protocol']
  if (offered === undefined || raw.headers.authorization !== undefined || raw.headers.dpop !== undefined) return
  const entries = offered.split(',').map((p) => p.trim())
  const proofs = entriesOf(entries, SUBPROTOCOL_PREFIX.proof)
  const offeredTokens = entriesOf(entries, SUBPROTOCOL_PREFIX.token)
  const tokens = offeredTokens.length > 0
    ? offeredTokens
    : [...new Set(cookieValues(raw.headers.cookie, COOKIES.accessToken))]
  if (proofs.length !== 1 || tokens.length !== 1) return
  const authorization = `DPoP ${tokens[0]}`
  const proof = proofs[0]!
  const headers = raw.headers
  headers.authorization = authorization
  headers.dpop = proof
  // The stages read copies of these headers from rawHeaders.
  raw.rawHeaders.push('authorization', authorization, 'dpop', proof)
}

/** A refused upgrade's socket is closed this long after its answer at the latest. */
const REFUSED_LINGER_MS = 5_000

/** `onRefused`: an upgrade was answered over HTTP (metrics), with the reason. */
export function routeUpgrades (app: FastifyInstance, onRefused: (reason: string) => void): void {
  app.server.on('upgrade', (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy()) // a reset before the handshake ends: nothing to answer
    const pending: PendingUpgrade = { socket, head, upgrade: String(raw.headers.upgrade) }
    dpopFromSubprotocol(raw)
    raw[kUpgrade] = pending
    const response = new ServerResponse(raw)
    response.shouldKeepAlive = false
    response.assignSocket(socket as Socket)
    response.once('finish', () => {
      onRefused(pending.refusal ?? REFUSALS[response.statusCode] ?? `status_${response.statusCode}`)
      socket.end()
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref()
    })
    app.routing(raw, response)
  })
}
