/**
 * WebSocket upgrades through the pipeline: Node emits an upgrade apart from requests, so each
 * is sent through Fastify's router with a response bound to its socket (as @fastify/http-proxy
 * and @fastify/websocket do). It then runs every stage like any request; a refusal is an
 * ordinary HTTP answer (status, JSON error) after which the socket closes; the proxy
 * (websocket.ts) takes over the socket of an upgrade it accepts.
 *
 * A browser cannot set headers on a WebSocket, so a DPoP-bound session (RFC 9449) offers its
 * proof as a subprotocol, `dpop.<proof>`: with the access cookie, and no Authorization header,
 * the upgrade is then read as `Authorization: DPoP <cookie>` with `DPoP: <proof>`, checked by
 * stage 5d like any DPoP request. The entry is never offered upstream; the handshake's answer
 * names it when the upstream picks no subprotocol (a browser that offered one needs one back).
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

export const DPOP_SUBPROTOCOL_PREFIX = 'dpop.'

/** Moves a `dpop.<proof>` subprotocol and the access cookie into the DPoP headers (see above). */
export function dpopFromSubprotocol (raw: IncomingMessage): void {
  const offered = raw.headers['sec-websocket-protocol']
  if (offered === undefined || raw.headers.authorization !== undefined) return
  const entries = offered.split(',').map((p) => p.trim())
  const proofs = entries.filter((p) => p.startsWith(DPOP_SUBPROTOCOL_PREFIX))
  const cookies = [...new Set(cookieValues(raw.headers.cookie, COOKIES.accessToken))]
  if (proofs.length !== 1 || cookies.length !== 1 || raw.headers.dpop !== undefined) return
  const authorization = `DPoP ${cookies[0]}`
  const proof = proofs[0]!.slice(DPOP_SUBPROTOCOL_PREFIX.length)
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
