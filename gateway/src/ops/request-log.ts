/**
 * Request ids and the one line per answered request.
 *
 * - the id is the client's `x-request-id` when it is one well-formed copy, else a new UUID
 * - onResponse: the request metrics by the session's route label, and the log line (Fastify's
 *   own request logging is off)
 * - the line's fields are fixed and hold no credential, so it is written as a template into
 *   the logger's destination (access-line.ts), without pino's serializer and redaction pass;
 *   every other log call goes through pino and is redacted
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import { REQUEST_ID_PATTERN } from '../contract.js'
import type { Logger } from 'pino'
import { tracingStarted } from '../../../services/kernel/tracing.js'
import { kGatewaySession } from '../pipeline/session.js'
import { accessLineWriter } from './access-line.js'
import type { GatewayMetrics } from './metrics.js'

export function genReqId (req: IncomingMessage): string {
  // headersDistinct copies every header on first use: skip it when there is no id to keep.
  if (req.headers['x-request-id'] === undefined) return randomUUID()
  const ids = req.headersDistinct?.['x-request-id']
  const id = ids?.length === 1 ? ids[0] : undefined
  return id !== undefined && REQUEST_ID_PATTERN.test(id) ? id : randomUUID()
}

export interface RequestLogOptions {
  metrics: GatewayMetrics
  /** The log goes to the gateway's own stdout destination (not a stream a caller passed): lines are batched. */
  batch: boolean
}

export const requestLog = fp(async function requestLog (app, opts: RequestLogOptions) {
  const { metrics } = opts
  const access = accessLineWriter(app.log as unknown as Logger, { viaPino: tracingStarted(), batch: opts.batch })
  app.addHook('onClose', async () => { access.flush() })
  app.addHook('onResponse', (request, reply, done) => {
    const { method, url } = request
    const { statusCode, elapsedTime } = reply
    metrics.recordRequest(request[kGatewaySession]?.routeLabel ?? 'not_found', method, statusCode, elapsedTime / 1000)
    const responseTime = Math.round(elapsedTime)
    access.write({ reqId: request.id, method, url, statusCode, responseTime })
    done()
  })
}, { name: 'gateway-request-log' })
