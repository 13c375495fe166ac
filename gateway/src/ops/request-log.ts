/**
 * Request ids and the one line per answered request.
 *
 * - the id is the client's `x-request-id` when it is one well-formed copy, else a new UUID
 * - onResponse: the request metrics by the session's route label, and the log line (Fastify's
 *   own request logging is off)
 * - the line's fields are fixed and hold no credential, so it is written by a child logger
 *   without the redaction pass: that pass costs ~12 µs a line with the kernel's list, some
 *   5 % of a proxied request; every other log call is still redacted
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import { REQUEST_ID_PATTERN } from '../contract.js'
import { kGatewaySession } from '../pipeline/session.js'
import type { GatewayMetrics } from './metrics.js'

export function genReqId (req: IncomingMessage): string {
  // headersDistinct copies every header on first use: skip it when there is no id to keep.
  if (req.headers['x-request-id'] === undefined) return randomUUID()
  const ids = req.headersDistinct?.['x-request-id']
  const id = ids?.length === 1 ? ids[0] : undefined
  return id !== undefined && REQUEST_ID_PATTERN.test(id) ? id : randomUUID()
}

export const requestLog = fp(async function requestLog (app, opts: { metrics: GatewayMetrics }) {
  const { metrics } = opts
  const accessLog = app.log.child({}, { redact: { paths: [] } })
  app.addHook('onResponse', (request, reply, done) => {
    const { method, url } = request
    const { statusCode, elapsedTime } = reply
    metrics.recordRequest(request[kGatewaySession]?.routeLabel ?? 'not_found', method, statusCode, elapsedTime / 1000)
    const responseTime = Math.round(elapsedTime)
    accessLog.info({ reqId: request.id, method, url, statusCode, responseTime }, 'request completed')
    done()
  })
}, { name: 'gateway-request-log' })
