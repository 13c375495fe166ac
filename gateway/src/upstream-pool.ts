/**
 * The direct path to an upstream: undici's Pool per upstream origin, called without
 * reply-from in between for every request whose body is absent or of known length (nearly
 * all). reply-from does the same undici call after work the gateway never needs on each
 * request (a URL parse and a JSON cache key, a retry closure, its own header copy and
 * Connection scan: stage 1 already stripped those headers); `npm run bench` measures the
 * difference (README, Performance). A chunked upload still goes through reply-from
 * (proxy.ts), where the body is counted as it streams.
 *
 * - one keep-alive pool per origin, made on first use; no retries: a request is sent once
 * - the rule's timeout bounds the answer's headers and each gap in its body (504)
 * - the answer's headers filtered (response/upstream-headers.ts), its redirect rewritten back
 *   to the gateway's prefix, a small body sent in one write, an event stream as a live
 *   connection (live/event-stream.ts)
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Pool } from 'undici'
import type { LiveConnections } from './live/connections.js'
import { isEventStream, liveEventStream } from './live/event-stream.js'
import type { GatewaySession } from './pipeline/session.js'
import { upstreamResponseHeaders } from './response/upstream-headers.js'
import type { Rule } from './rules.js'

export interface UpstreamPoolOptions {
  connectTimeoutMs: number
  live: LiveConnections
  /** The headers the upstream gets (pipeline/mutate.ts), over a copy of the request's. */
  upstreamHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) => IncomingHttpHeaders
  /** A failure to reach the upstream as the reply's error (502 / 504). */
  upstreamError: (error: Error) => Error
  /** A small answer of known length: collected and sent in one write (proxy.ts). */
  sendBody: (reply: FastifyReply, body: Readable, contentLength: string | undefined) => void
  /** The upstream's redirect, back under the gateway's prefix (proxy.ts). */
  rewriteLocation: (headers: Record<string, unknown>, rule: Rule) => void
}

interface Target { origin: string, host: string }

/** An answer nobody reads: its stream is destroyed (undici then fails it with an abort, ignored). */
function discard (body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

export interface UpstreamPools {
  forward: (request: FastifyRequest, reply: FastifyReply, session: GatewaySession, path: string) => FastifyReply
  close: () => Promise<void>
}

export function createUpstreamPools (opts: UpstreamPoolOptions): UpstreamPools {
  const pools = new Map<string, Pool>()
  const targets = new WeakMap<Rule, Target>()
  function targetOf (rule: Rule): Target {
    let target = targets.get(rule)
    if (target === undefined) {
      const url = new URL(rule.upstream)
      targets.set(rule, target = { origin: url.origin, host: url.host })
    }
    return target
  }
  function poolFor (origin: string): Pool {
    let pool = pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: 128,
        pipelining: 1, // no head-of-line blocking behind a slow answer
        keepAliveTimeout: 30_000,
        connect: { timeout: opts.connectTimeoutMs },
      })
      pools.set(origin, pool)
    }
    return pool
  }

  return {
    forward (request, reply, session, path) {
      const rule = session.rule!
      const { origin, host } = targetOf(rule)
      const url = request.url
      const q = url.indexOf('?')
      const headers = opts.upstreamHeaders(request, { ...request.headers })
      headers.host = host
      delete headers.connection // stage 1 removed what it names; the pool keeps its connections alive
      const method = request.method
      const body = method === 'GET' || method === 'HEAD' ? null : (request.body as Readable | undefined) ?? null
      poolFor(origin).request({
        method: method as 'GET',
        path: q === -1 ? path : path + url.slice(q),
        headers: headers as Record<string, string>,
        body,
        headersTimeout: rule.timeoutMs,
        bodyTimeout: rule.timeoutMs,
      }).then((res) => {
        const out = upstreamResponseHeaders(res.headers as Record<string, string | undefined>)
        opts.rewriteLocation(out, rule)
        if (reply.raw.destroyed) { discard(res.body); return } // the client went away meanwhile
        if (res.statusCode < 100 || res.statusCode > 599) {
          discard(res.body)
          reply.send(opts.upstreamError(new Error(`upstream status ${res.statusCode}`)))
          return
        }
        reply.code(res.statusCode).headers(out)
        const type = res.headers['content-type']
        if (isEventStream(typeof type === 'string' ? type : undefined)) {
          reply.send(liveEventStream(opts.live, reply, res.body, rule, session))
          return
        }
        const length = res.headers['content-length']
        opts.sendBody(reply, res.body, typeof length === 'string' ? length : undefined)
      }, (err: Error) => {
        if (!reply.sent) reply.send(opts.upstreamError(err))
      })
      return reply
    },
    async close () {
      await Promise.all([...pools.values()].map(async (pool) => await pool.close()))
      pools.clear()
    },
  }
}
