/**
 * Pipeline stage 2, request limits: what a request must be before anything works on it.
 *
 * - HTTP/1.1 needs Host (RFC 9112 3.2): 400 (Node's own check would answer with no body)
 * - a body announced by Content-Length over the rule's `bodyLimit` is 413 before one byte of
 *   it is read or forwarded; a chunked one is counted as it streams (proxy.ts)
 * - the answer to a request whose body was not read closes the connection (services/kernel/shutdown.ts)
 */
import { MissingHostError, PayloadTooLargeError } from '../errors.js'
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
}
