/**
 * Forward, after the pipeline (pipeline/index.ts): one @fastify/http-proxy registration, a
 * catch-all route for every proxied method, forwarding by the rule the session's configuration
 * picked (route-table.ts), so a reload changes routes without touching Fastify's router.
 *
 * - upstream, path rewrite and timeout are the rule's, per request; no rule is the JSON 404
 * - most requests go straight to undici's Agent (upstream-pool.ts); a chunked
 *   upload goes through reply-from (its getUpstream and per-call timeout), counted as it streams
 * - keep-alive upstream connections (undici, one pool per upstream origin); no retries: a
 *   proxied request is sent once
 * - the identity written by upstreamHeaders (pipeline/mutate.ts), the answer's headers
 *   filtered (response/upstream-headers.ts) and its redirect rewritten back to the prefix
 * - small answers sent in one write; upstream failures mapped to JSON 502 / 504
 * - a WebSocket upgrade the pipeline let through goes to live/websocket.ts; an event stream is
 *   relayed as a live connection (live/event-stream.ts)
 */
import type { IncomingHttpHeaders } from 'node:http'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy'
import { BadGatewayError, GatewayTimeoutError, notFoundHandler, PayloadTooLargeError } from './errors.js'
import { upstreamIdentity } from './identity-assertion/index.js'
import type { LiveConnections } from './live/connections.js'
import { isEventStream, liveEventStream } from './live/event-stream.js'
import { createWebSocketProxy, type ForwardWebSocket } from './live/websocket.js'
import { outgoingHeaders } from './pipeline/mutate.js'
import { kGatewaySession, type GatewaySession } from './pipeline/session.js'
import { upstreamResponseHeaders } from './response/upstream-headers.js'
import { upstreamPath } from './route-table.js'
import { createUpstreamPools, type UpstreamHeaders, type UpstreamPools } from './upstream-pool.js'
import { PROXIED_METHODS, type Rule } from './rules.js'

/** reply-from's upstream errors: timeouts are 504, every other failure 502. */
export function upstreamError (error: Error & { code?: string, statusCode?: number }): Error {
  const timeout = error.statusCode === 504 || error.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    error.code === 'UND_ERR_BODY_TIMEOUT' || error.code === 'UND_ERR_CONNECT_TIMEOUT'
  return timeout ? new GatewayTimeoutError({ cause: error }) : new BadGatewayError({ cause: error })
}

interface UpstreamResponse { headers: UpstreamHeaders }

/** Upstream bodies up to this size (by Content-Length) are read whole, then sent in one write. */
export const BUFFERED_BODY_MAX_BYTES = 64 * 1024

/**
 * A small answer of known length is collected and sent as one buffer (headers and body in
 * one write, no stream piping: what nginx's proxy_buffering does); anything else (unknown
 * length, large, a stream of events) is piped through as it comes.
 */
interface SendingReply { send: (payload: unknown) => unknown, readonly sent: boolean }

export function sendUpstreamBody (reply: SendingReply, body: Readable, contentLength: string | undefined): void {
  const length = contentLength === undefined ? NaN : Number(contentLength)
  if (!(length >= 0 && length <= BUFFERED_BODY_MAX_BYTES)) { reply.send(body); return }
  const chunks: Buffer[] = []
  body.on('data', (chunk: Buffer) => chunks.push(chunk))
  body.once('end', () => reply.send(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
  body.once('error', (err: Error) => { if (!reply.sent) reply.send(upstreamError(err)) })
}

/** Passes a streamed body through until it exceeds `limit` bytes, then fails (the proxy's error says why). */
export class BodyLimit extends Transform {
  private seen = 0
  constructor (private readonly limit: number, private readonly onExceeded: () => void) { super() }
  override _transform (chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen <= this.limit) { done(null, chunk); return }
    this.onExceeded()
    done(new PayloadTooLargeError(this.limit))
  }
}

type ProxyHandler = NonNullable<FastifyHttpProxyOptions['handler']>

/**
 * The proxy's handler (http-proxy's own, with one step first, so no extra hook per request):
 * a chunked body (no Content-Length for stage 2 to check) is counted as it streams to the
 * upstream; past the rule's bodyLimit the upload stops and the answer is 413, not the 502 of
 * an upstream that dropped it.
 */
function forwardByRule (forwardWebSocket: ForwardWebSocket, pools: UpstreamPools): ProxyHandler {
  // reply-from's options per rule, made once: http-proxy's, with the rule's upstream and timeout.
  const byRule = new WeakMap<Rule, object>()
  return function forward (request, reply, dest, options) {
    const session = request[kGatewaySession]!
    const rule = session.rule
    if (rule === undefined) return notFoundHandler(request)
    const path = upstreamPath(rule, dest)
    if (session.upgrade) return forwardWebSocket(request, reply, rule, session, path)
    const body = request.body as Readable | undefined
    if (request.raw.headers['transfer-encoding'] === undefined || typeof body?.pipe !== 'function') {
      return pools.forward(request, reply, session, path)
    }
    request.body = body.pipe(new BodyLimit(rule.bodyLimit, () => { session.bodyTooLarge = true }))
    let ruleOptions = byRule.get(rule)
    if (ruleOptions === undefined) {
      const upstream = rule.upstream
      byRule.set(rule, ruleOptions = { ...options, getUpstream: () => upstream, timeout: rule.timeoutMs })
    }
    return reply.from(path, ruleOptions)
  }
}

const ruleOf = (request: FastifyRequest): Rule => request[kGatewaySession]!.rule!

export interface ProxyOptions {
  /** Connecting to an upstream (a pool's, for every rule; a rule's own timeout bounds the answer). */
  connectTimeoutMs: number
  /** The open WebSockets and event streams (live/connections.ts). */
  live: LiveConnections
}

/** The identity and forwarding headers, written over the request's own (pipeline/mutate.ts). */
function upstreamHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const session = request[kGatewaySession]!
  return outgoingHeaders(headers, {
    ...upstreamIdentity(request.server.gatewayAssertions, session.rule!, session),
    requestId: request.id,
    clientIp: session.clientIp,
    protocol: session.protocol,
    forwardCredentials: session.rule!.forwardCredentials,
    host: request.headers.host,
  })
}

/** The catch-all route for every proxied method: the router picks nothing, the rule table does. */
export function registerProxy (app: FastifyInstance, opts: ProxyOptions): void {
  /** An upstream's answer body: an event stream as a live connection, any other as sendUpstreamBody does. */
  const sendBody = (reply: FastifyReply, body: Readable, headers: UpstreamHeaders, session: GatewaySession): void => {
    const type = headers['content-type']
    if (typeof type === 'string' && isEventStream(type)) {
      reply.send(liveEventStream(opts.live, reply, body, session.rule!, session))
      return
    }
    const length = headers['content-length']
    sendUpstreamBody(reply, body, typeof length === 'string' ? length : undefined)
  }
  const pools = createUpstreamPools({
    connectTimeoutMs: opts.connectTimeoutMs, upstreamHeaders, upstreamError, sendBody, rewriteLocation,
  })
  app.addHook('onClose', async () => { await pools.close() })
  const options: FastifyHttpProxyOptions = {
    upstream: '',
    prefix: '',
    routes: ['/', '/*'],
    httpMethods: [...PROXIED_METHODS],
    config: { gatewayProxy: true },
    handler: forwardByRule(createWebSocketProxy({
      live: opts.live,
      upstreamHeaders: (request) => upstreamHeaders(request, { ...request.headers }),
      upstreamError,
    }), pools),
    disableRequestLogging: true,
    undici: pools.agent as unknown as FastifyHttpProxyOptions['undici'], // one set of upstream connections
    replyOptions: {
      // http-proxy asks before the handler runs, also when no rule matched (the handler's 404).
      getUpstream: (request) => (request as FastifyRequest)[kGatewaySession]?.rule?.upstream ?? '',
      retryDelay: () => null,
      rewriteRequestHeaders: (request, headers) => {
        return upstreamHeaders(request as FastifyRequest, headers as IncomingHttpHeaders)
      },
      rewriteHeaders: (headers, request) => {
        const out = upstreamResponseHeaders(headers)
        if (request !== undefined) rewriteLocation(out, ruleOf(request as FastifyRequest))
        return out
      },
      // reply-from's type says a ServerResponse; what it passes is { statusCode, headers, stream }.
      onResponse: (request, reply, res) => {
        const { headers } = res as unknown as UpstreamResponse
        sendBody(reply as FastifyReply, res.stream, headers, (request as FastifyRequest)[kGatewaySession]!)
      },
      onError: (reply, { error }) => {
        const session = reply.request[kGatewaySession]
        const tooLarge = session?.bodyTooLarge === true
        reply.send(tooLarge ? new PayloadTooLargeError(session!.rule!.bodyLimit) : upstreamError(error))
      },
    },
  }
  app.register(httpProxy, options)
}

/** An upstream's own redirect (`Location: /orders/7`) as the client must follow it (`/api/orders/7`). */
function rewriteLocation (headers: Record<string, unknown>, rule: Rule): void {
  const location = headers.location
  if (typeof location !== 'string' || rule.rewritePrefix === rule.prefix || !location.startsWith('/')) return
  if (location.startsWith('//')) return
  const from = rule.rewritePrefix.endsWith('/') ? rule.rewritePrefix.slice(0, -1) : rule.rewritePrefix
  const to = rule.prefix === '/' ? '' : rule.prefix
  if (location === from || location.startsWith(`${from}/`) || location.startsWith(`${from}?`)) {
    headers.location = to + location.slice(from.length)
  }
}
