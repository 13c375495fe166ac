/**
 * An event stream (`text/event-stream`) answered through the proxy is a live connection like a
 * socket (connections.ts): it ends, cleanly (the chunked answer is finished, so EventSource
 * reconnects and meets the pipeline again), when its token expires or is revoked, and at the
 * rule's idle and lifetime limits. Backpressure is the client's: the upstream is paused while
 * the client does not read.
 */
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import type { GatewaySession } from '../pipeline/session.js'
import type { Rule } from '../rules.js'
import type { LiveConnections } from './connections.js'
import { liveConnection } from './owner.js'

export const isEventStream = (contentType: string | undefined): boolean =>
  contentType !== undefined && contentType.toLowerCase().startsWith('text/event-stream')

/** The stream the reply sends instead of the upstream's body. */
export function liveEventStream (
  live: LiveConnections, reply: FastifyReply, body: Readable, rule: Rule, session: GatewaySession
): Readable {
  const out = new PassThrough()
  let ended = false
  const handle = live.open(liveConnection('sse', rule, session, (reason) => {
    ended = true
    body.destroy()
    out.end()
    reply.log.info({ ruleId: rule.id, reason }, 'event stream ended by the gateway')
  }))
  body.on('data', (chunk: Buffer) => {
    handle.touch()
    if (!out.write(chunk)) body.pause()
  })
  out.on('drain', () => body.resume())
  body.once('end', () => { if (!ended) out.end() })
  body.once('error', (err) => { if (!ended) out.destroy(err) })
  reply.raw.once('close', () => {
    handle.closed(reply.raw.writableFinished ? 'upstream' : 'client')
    body.destroy()
  })
  return out
}
