/**
 * The direct path to an upstream: one undici Agent (a keep-alive pool per upstream origin),
 * called without reply-from in between for every request whose body is absent or of known
 * length (nearly all). reply-from does the same undici call after work the gateway never
 * needs on each request (a URL parse and a JSON cache key, a retry closure, its own header
 * copy and Connection scan: stage 1 already stripped those headers); `npm run bench`
 * measures the difference (README, Performance). A chunked upload still goes through
 * reply-from (proxy.ts), where the body is counted as it streams, over the same Agent.
 *
 * - one keep-alive pool per origin, made on first use; no retries: a request is sent once
 * - the rule's timeout bounds the answer's headers and each gap in its body (504)
 * - the answer's headers filtered (response/upstream-headers.ts), its redirect rewritten back
 *   to the gateway's prefix, its body sent as proxy.ts sends every upstream body
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Agent } from 'undici'
import type { GatewaySession } from './pipeline/session.js'
import { upstreamResponseHeaders } from './response/upstream-headers.js'
import type { Rule } from './rules.js'

export interface UpstreamPoolOptions {
  connectTimeoutMs: number
  /** The headers the upstream gets (pipeline/mutate.ts), over a copy of the request's. */
  upstreamHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) => IncomingHttpHeaders
  /** A failure to reach the upstream as the reply's error (502 / 504). */
  upstreamError: (error: Error) => Error
  /** The answer's body, by its headers (proxy.ts: an event stream, a small body, a stream). */
  sendBody: (reply: FastifyReply, body: Readable, headers: UpstreamHeaders, session: GatewaySession) => void
  /** The upstream's redirect, back under the gateway's prefix (proxy.ts). */
  rewriteLocation: (headers: Record<string, unknown>, rule: Rule) => void
}

export type UpstreamHeaders = Record<string, string | string[] | undefined>

interface Target { origin: string, host: string }

/** An answer nobody reads: its stream is destroyed (undici then fails it with an abort, ignored). */
function discard (body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

export interface UpstreamPools {
  forward: (request: FastifyRequest, reply: FastifyReply, session: GatewaySession, path: string) => FastifyReply
  /** The dispatcher, for reply-from's requests too. */
  agent: Agent
  close: () => Promise<void>
}

export function createUpstreamPools (opts: UpstreamPoolOptions): UpstreamPools {
  const agent = new Agent({
    connections: 128,
    pipelining: 1, // no head-of-line blocking behind a slow answer
    keepAliveTimeout: 30_000,
    connect: { timeout: opts.connectTimeoutMs },
  })
  const targets = new WeakMap<Rule, Target>()
  function targetOf (rule: Rule): Target {
    let target = targets.get(rule)
    if (target === undefined) {
      const url = new URL(rule.upstream)
      targets.set(rule, target = { origin: url.origin, host: url.host })
    }
    return target
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
      agent.request({
        origin,
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
        opts.sendBody(reply, res.body, res.headers, session)
      }, (err: Error) => {
        if (!reply.sent) reply.send(opts.upstreamError(err))
      })
      return reply
    },
    agent,
    async close () { await agent.close() },
  }
}
