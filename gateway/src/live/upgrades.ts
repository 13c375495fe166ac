/**
 * WebSocket upgrades through the pipeline: Node emits an upgrade apart from requests, so each
 * is sent through Fastify's router with a response bound to its socket (as @fastify/http-proxy
 * and @fastify/websocket do). It then runs every stage like any request; a refusal is an
 * ordinary HTTP answer (status, JSON error) after which the socket closes; the proxy
 * (websocket.ts) takes over the socket of an upgrade it accepts.
 */
import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'

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

/** A refused upgrade's socket is closed this long after its answer at the latest. */
const REFUSED_LINGER_MS = 5_000

/** `onRefused`: an upgrade was answered over HTTP (metrics), with the reason. */
export function routeUpgrades (app: FastifyInstance, onRefused: (reason: string) => void): void {
  app.server.on('upgrade', (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy()) // a reset before the handshake ends: nothing to answer
    const pending: PendingUpgrade = { socket, head, upgrade: String(raw.headers.upgrade) }
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
