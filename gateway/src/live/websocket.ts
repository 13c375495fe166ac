/**
 * The WebSocket proxy, after the pipeline accepted an upgrade (upgrades.ts) on a rule with
 * `websocket`. The `ws` package does the framing; this module only joins two sockets.
 *
 * - the upstream socket is opened first, with the identity headers: the client's handshake is
 *   completed only once the upstream accepted (its subprotocol is the one the client gets); an
 *   upstream that answers otherwise has its answer relayed, one that fails is a JSON 502 / 504
 * - messages are relayed as they are, up to the rule's maxMessageBytes either way (larger:
 *   that socket closes with 1009); a reader slower than its sender pauses the sender once
 *   maxBufferedBytes are queued for it, so no socket makes the gateway hold unbounded data
 * - each socket is in the live registry (connections.ts): token expiry and revocation close it
 *   with 4401, idle and lifetime limits with 4408, shutdown with 1001; a close on one side
 *   closes the other with the same code
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import { GatewayTimeoutError } from '../errors.js'
import { upgradeSpanEnd } from '../../../services/kernel/tracing.js'
import { withUpgradeTraceContext } from '../ops/tracing.js'
import type { GatewaySession } from '../pipeline/session.js'
import { upstreamResponseHeaders } from '../response/upstream-headers.js'
import type { Rule, WebSocketLimits } from '../rules.js'
import { liveConnection } from './owner.js'
import type { EndReason, LiveConnections, LiveHandle } from './connections.js'
import { SUBPROTOCOL_PREFIX, isCredentialSubprotocol, kUpgrade } from './upgrades.js'

/** Close codes: 4401 for what ends the token (the 401 of sockets), 4408 for the route's time limits. */
export const CLOSE_CODES: Readonly<Record<EndReason, number>> = Object.freeze({
  expired: 4401,
  revoked: 4401,
  idle: 4408,
  lifetime: 4408,
  shutdown: 1001,
})
const CLOSE_TEXT: Readonly<Record<EndReason, string>> = Object.freeze({
  expired: 'token expired',
  revoked: 'session revoked',
  idle: 'idle timeout',
  lifetime: 'maximum lifetime reached',
  shutdown: 'gateway shutting down',
})

/** Handshake headers `ws` writes itself; the rest of the client's request goes upstream. */
const HANDSHAKE_HEADERS = [
  'host', 'connection', 'upgrade', 'content-length', 'sec-websocket-key', 'sec-websocket-version',
  'sec-websocket-extensions', 'sec-websocket-protocol',
] as const

/** A code a close frame may carry (RFC 6455 7.4): 1005 (none sent) and 1006 (no close frame) may not. */
function sendable (code: number): number {
  if (code === 1005) return 1000
  if (code === 1006) return 1001
  const valid = (code >= 1000 && code <= 1014 && code !== 1004) || (code >= 3000 && code <= 4999)
  return valid ? code : 1011
}

function closeSocket (socket: WebSocket, code: number, reason: string | Buffer = ''): void {
  if (socket.readyState === WebSocket.CONNECTING) socket.terminate()
  else if (socket.readyState === WebSocket.OPEN) socket.close(sendable(code), reason)
}

function relay (from: WebSocket, to: WebSocket, limits: WebSocketLimits, handle: LiveHandle): void {
  const low = limits.maxBufferedBytes / 2
  const drained = (): void => { if (from.isPaused && to.bufferedAmount <= low) from.resume() }
  from.on('message', (data: RawData, isBinary: boolean) => {
    handle.touch()
    if (to.readyState !== WebSocket.OPEN) return
    to.send(data, { binary: isBinary }, drained)
    if (to.bufferedAmount > limits.maxBufferedBytes) from.pause()
  })
  from.on('ping', handle.touch)
  from.on('pong', handle.touch)
}

export interface WebSocketProxyOptions {
  live: LiveConnections
  /** The headers the upstream gets for this request: the identity, as for any proxied request. */
  upstreamHeaders: (request: FastifyRequest) => IncomingHttpHeaders
  /** Turns a failure to reach the upstream into the reply's error (502 / 504). */
  upstreamError: (error: Error) => Error
}

export type ForwardWebSocket = (
  request: FastifyRequest, reply: FastifyReply, rule: Rule, session: GatewaySession, path: string
) => FastifyReply

export function createWebSocketProxy (opts: WebSocketProxyOptions): ForwardWebSocket {
  // One server per message limit: ws checks maxPayload per server.
  const servers = new Map<number, WebSocketServer>()
  const serverFor = (maxPayload: number): WebSocketServer => {
    let server = servers.get(maxPayload)
    if (server === undefined) {
      server = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: false,
        maxPayload,
        // The client gets the subprotocol its upstream picked (kept on the request by `forward`),
        // else the DPoP entry it offered (upgrades.ts).
        handleProtocols: (offered, request) => {
          const proof = [...offered].find((p) => p.startsWith(SUBPROTOCOL_PREFIX.proof))
          return selectedProtocol.get(request) ?? proof ?? false
        },
      })
      servers.set(maxPayload, server)
    }
    return server
  }
  const selectedProtocol = new WeakMap<object, string>()

  function upstreamUrl (rule: Rule, path: string, url: string): string {
    const q = url.indexOf('?')
    return rule.upstream.replace(/^http/, 'ws') + path + (q === -1 ? '' : url.slice(q))
  }

  function headersFor (request: FastifyRequest): IncomingHttpHeaders {
    const headers = opts.upstreamHeaders(request)
    for (const name of HANDSHAKE_HEADERS) delete headers[name]
    withUpgradeTraceContext(headers)
    return headers
  }

  function join (
    client: WebSocket, upstream: WebSocket, rule: Rule, session: GatewaySession, request: FastifyRequest
  ): void {
    const limits = rule.websocket!
    const openedAt = Date.now()
    const log = request.log
    const handle = opts.live.open(liveConnection('websocket', rule, session, (reason) => {
      closeSocket(client, CLOSE_CODES[reason], CLOSE_TEXT[reason])
      closeSocket(upstream, 1001, 'client closed by the gateway')
      log.info({ ruleId: rule.id, reason, ms: Date.now() - openedAt }, 'websocket closed by the gateway')
    }))
    relay(client, upstream, limits, handle)
    relay(upstream, client, limits, handle)
    const closedBy = (side: 'client' | 'upstream', other: WebSocket) => (code: number, reason: Buffer) => {
      handle.closed(side)
      closeSocket(other, code, reason)
    }
    client.once('close', closedBy('client', upstream))
    upstream.once('close', closedBy('upstream', client))
    const failedBy = (side: 'client' | 'upstream', other: WebSocket) => (err: Error & { code?: string }) => {
      const tooLarge = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
      handle.closed(tooLarge ? 'too_large' : side)
      closeSocket(other, tooLarge ? 1009 : 1011, tooLarge ? 'message too large' : `${side} failed`)
      log.info({ ruleId: rule.id, side, code: err.code, err: err.message }, 'websocket failed')
    }
    client.on('error', failedBy('client', upstream))
    upstream.on('error', failedBy('upstream', client))
  }

  return function forwardWebSocket (request, reply, rule, session, path) {
    const raw = request.raw
    const pending = raw[kUpgrade]!
    const limits = rule.websocket!
    const offered = raw.headers['sec-websocket-protocol']
    const protocols = offered === undefined
      ? []
      : offered.split(',').map((p) => p.trim()).filter((p) => p !== '' && !isCredentialSubprotocol(p))
    const endSpan = upgradeSpanEnd()
    const upstream = new WebSocket(upstreamUrl(rule, path, request.url), protocols, {
      headers: headersFor(request) as Record<string, string>,
      maxPayload: limits.maxMessageBytes,
      perMessageDeflate: false,
      followRedirects: false,
    })
    // Until the sockets are joined, a client that goes away takes the upstream socket with it.
    const gone = (): void => upstream.terminate()
    pending.socket.once('close', gone)
    const timer = setTimeout(() => {
      upstream.terminate()
      if (reply.sent) return
      pending.refusal = 'upstream_failed'
      reply.send(new GatewayTimeoutError())
    }, rule.timeoutMs)
    upstream.once('unexpected-response', (_req, res) => {
      clearTimeout(timer)
      pending.refusal = 'upstream_refused'
      res.once('close', gone)
      reply.code(res.statusCode ?? 502).headers(upstreamResponseHeaders(res.headers)).send(res)
    })
    upstream.once('error', (err) => {
      clearTimeout(timer)
      if (reply.sent) return
      pending.refusal = 'upstream_failed'
      reply.send(opts.upstreamError(err))
    })
    upstream.once('open', () => {
      clearTimeout(timer)
      reply.hijack()
      raw.headers.upgrade = pending.upgrade
      if (upstream.protocol !== '') selectedProtocol.set(raw, upstream.protocol)
      serverFor(limits.maxMessageBytes).handleUpgrade(raw, pending.socket, pending.head, (client) => {
        endSpan()
        pending.socket.off('close', gone)
        join(client, upstream, rule, session, request)
      })
    })
    return reply
  }
}
