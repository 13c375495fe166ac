/**
 * The gateway's own part of tracing (services/kernel/tracing.ts installs the SDK, the server span
 * and the client spans of forwarding and JWKS fetches).
 *
 * - stage 5 as an `authenticate` span, child of the request's: the route, the outcome, the
 *   credential's source (header or cookie), a denial's reason; never a token or a claim
 * - upstream headers: the client's traceparent and tracestate go, and the undici instrumentation
 *   writes the forwarding span's (the trace continued, never the client's span id passed on)
 * - a WebSocket upgrade: its upstream handshake (node:http through `ws`, which no instrumentation
 *   here wraps) carries the request span's context (the span itself ends at the handshake:
 *   kernel tracing.ts, upgradeSpanEnd)
 * - tracing off: the stage is the stage itself and the headers are left alone (nothing added
 *   to the request path)
 */
import type { IncomingHttpHeaders } from 'node:http'
import { context, propagation, SpanStatusCode, trace, type Span } from '@opentelemetry/api'
import { tracingStarted, type TracingConfig } from '../../../services/kernel/tracing.js'
import { isDenial } from '../errors.js'
import type { Stage } from '../pipeline/stage.js'
import type { GatewaySession } from '../pipeline/session.js'

const tracer = trace.getTracer('jwt-edge-gateway')

function end (span: Span, session: GatewaySession, err?: unknown): void {
  if (err === undefined) {
    span.setAttribute('gateway.auth.outcome', session.identity ? 'authenticated' : 'anonymous')
    if (session.credentialSource !== null) span.setAttribute('gateway.auth.source', session.credentialSource)
  } else if (isDenial(err)) {
    span.setAttributes({ 'gateway.auth.outcome': 'denied', 'gateway.auth.denial_reason': err.reason })
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR })
  }
  span.end()
}

/** Stage 5 in an `authenticate` span while tracing is on; off: `stage` unchanged. */
export function traceAuthenticate (tracing: Pick<TracingConfig, 'mode'>, stage: Stage): Stage {
  if (tracing.mode === 'off') return stage
  return (request, reply, session) => {
    const rule = session.rule
    if (rule === undefined || rule.auth === 'none') return stage(request, reply, session)
    const span = tracer.startSpan('authenticate', { attributes: { 'gateway.route': rule.id } })
    let result
    try {
      result = context.with(trace.setSpan(context.active(), span), stage, undefined, request, reply, session)
    } catch (err) {
      end(span, session, err)
      throw err
    }
    if (!(result instanceof Promise)) {
      end(span, session)
      return result
    }
    return result.then((value) => { end(span, session); return value }, (err: unknown) => {
      end(span, session, err)
      throw err
    })
  }
}

/** The upstream headers without the client's trace context while this process traces (see above). */
export function withoutClientTraceContext (out: IncomingHttpHeaders): void {
  if (!tracingStarted()) return
  delete out.traceparent
  delete out.tracestate
}

/** The upstream handshake's headers with the active span's trace context (see above). */
export function withUpgradeTraceContext (headers: IncomingHttpHeaders): void {
  if (tracingStarted()) propagation.inject(context.active(), headers)
}
