/**
 * Pipeline stage 2, request limits: what a request must be before anything works on it.
 *
 * - HTTP/1.1 needs Host (RFC 9112 3.2): 400 (Node's own check would answer with no body)
 * - a body announced by Content-Length over the rule's `bodyLimit` is 413 before one byte of
 *   it is read or forwarded; a chunked one is counted as it streams (proxy.ts)
 * - the answer to a request whose body was not read closes the connection (services/kernel/shutdown.ts)
 * - a WebSocket upgrade (live/upgrades.ts) needs a rule with `websocket` and a well-formed
 *   handshake (RFC 6455 4.2.1): else 400 before any token is read
 */
import { MissingHostError, PayloadTooLargeError, WebSocketRefusedError } from '../errors.js'
import type { IncomingHttpHeaders } from 'node:http'
import { kUpgrade } from '../live/upgrades.js'
import type { Stage } from './stage.js'

export const requestLimitsStage: Stage = (request, _reply, session) => {
  const raw = request.raw
  const headers = raw.headers
  const http11 = raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1
  if (headers.host === undefined && http11) throw new MissingHostError()
  const length = headers['content-length']
  const rule = session.rule
  if (rule !== undefined && length !== undefined && Number(length) > rule.bodyLimit) {
    throw new PayloadTooLargeError(rule.bodyLimit)
  }
  if (session.upgrade && rule !== undefined) {
    if (rule.websocket === null) throw new WebSocketRefusedError('This route does not take WebSocket upgrades')
    if (!isWebSocketHandshake(request.method, raw[kUpgrade]!.upgrade, headers)) {
      throw new WebSocketRefusedError('Not a WebSocket handshake')
    }
  }
}

const KEY = /^[A-Za-z0-9+/]{22}==$/

/** `upgrade` as sent: stage 1 removed the header (hop-by-hop). */
function isWebSocketHandshake (method: string, upgrade: string, headers: IncomingHttpHeaders): boolean {
  const key = headers['sec-websocket-key']
  return method === 'GET' && upgrade.toLowerCase() === 'websocket' &&
    headers['sec-websocket-version'] === '13' && key !== undefined && KEY.test(key)
}
