/**
 * Tracing of every process (OpenTelemetry, W3C Trace Context; CONTRACT "Tracing"): the settings,
 * read from the standard OTEL_* variables by each process's config module, and `startTracing`,
 * which each server.ts calls before it builds its app.
 *
 * - off (the default: no OTEL_EXPORTER_OTLP_ENDPOINT): no SDK is loaded and no hook added; a
 *   client's traceparent passes through the gateway like any other header
 * - export: spans go over OTLP/HTTP (JSON) to `${OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`, batched
 * - propagate (OTEL_TRACES_EXPORTER=none): trace context continued and passed on, nothing exported
 * - OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG: the standard samplers; the default is
 *   parentbased_always_on when exporting, parentbased_always_off when not (non-recording spans)
 * - server spans: @fastify/otel, one span per request (none per hook, none for health checks and
 *   metrics scrapes); client spans: the undici instrumentation (reply-from, fetch), which writes
 *   the caller's traceparent; ioredis commands, by name only, for a process that asks
 * - traceparent and tracestate only: no baggage is read or written
 * - log lines carry the active span's trace_id and span_id (logging.ts, a pino mixin)
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 */
import { createRequire } from 'node:module'
import {
  isSpanContextValid, SpanStatusCode, trace, type Attributes, type Span, type TracerProvider,
} from '@opentelemetry/api'
import type { Instrumentation } from '@opentelemetry/instrumentation'
import type { Sampler } from '@opentelemetry/sdk-trace-node'
import type { EnvReader } from './env.js'

export const TRACES_SAMPLERS = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off',
  'parentbased_traceidratio',
] as const
export type TracesSampler = typeof TRACES_SAMPLERS[number]
export type TracingMode = 'off' | 'propagate' | 'export'

export interface TracingConfig {
  mode: TracingMode
  /** OTEL_SERVICE_NAME; default the process's name. */
  serviceName: string
  /** The OTLP/HTTP traces URL ('' unless exporting). */
  tracesUrl: string
  sampler: TracesSampler
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the traceidratio samplers (0..1). */
  samplerRatio: number
}

/** The tracing settings of a process called `serviceName`, read with the process's own reader. */
export function readTracingConfig (read: EnvReader, serviceName: string): Readonly<TracingConfig> {
  const endpoint = read.optional('OTEL_EXPORTER_OTLP_ENDPOINT') === undefined
    ? ''
    : read.url('OTEL_EXPORTER_OTLP_ENDPOINT', '', ['http:', 'https:'])
  const exporter = read.oneOf('OTEL_TRACES_EXPORTER', 'otlp', ['otlp', 'none'])
  const disabled = read.oneOf('OTEL_SDK_DISABLED', 'false', ['true', 'false']) === 'true'
  const mode: TracingMode = disabled ? 'off' : exporter === 'none' ? 'propagate' : endpoint !== '' ? 'export' : 'off'
  return Object.freeze({
    mode,
    serviceName: read.str('OTEL_SERVICE_NAME', serviceName),
    tracesUrl: mode === 'export' ? `${endpoint}/v1/traces` : '',
    sampler: read.oneOf<TracesSampler>('OTEL_TRACES_SAMPLER',
      mode === 'export' ? 'parentbased_always_on' : 'parentbased_always_off', TRACES_SAMPLERS),
    samplerRatio: read.num('OTEL_TRACES_SAMPLER_ARG', 1, { max: 1 }),
  })
}

export interface StartTracingOptions {
  /** Spans for ioredis commands (the command's name, never its arguments), inside a trace only. */
  redis?: boolean
}

/** Probes and scrapes: a trace each would drown the real ones. */
export const UNTRACED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics'])

let provider: (TracerProvider & { shutdown: () => Promise<void> }) | undefined

/** Is the SDK installed in this process (startTracing with a mode other than off)? */
export const tracingStarted = (): boolean => provider !== undefined

/** Installs the SDK and the instrumentations (once per process); off: does nothing. */
export async function startTracing (config: TracingConfig, opts: StartTracingOptions = {}): Promise<void> {
  if (config.mode === 'off' || provider !== undefined) return
  // Imported here, not at the top: a process with tracing off never loads the SDK.
  const [sdk, { W3CTraceContextPropagator }, { resourceFromAttributes }, { ATTR_SERVICE_NAME }, instrumentation,
    { FastifyOtelInstrumentation }, { UndiciInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/core'), import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'), import('@opentelemetry/instrumentation'),
    import('@fastify/otel'), import('@opentelemetry/instrumentation-undici'),
  ])
  const exporter = config.mode === 'export'
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: config.tracesUrl })
    : undefined
  const root = config.sampler.replace('parentbased_', '')
  const base: Sampler = root === 'always_on'
    ? new sdk.AlwaysOnSampler()
    : root === 'always_off' ? new sdk.AlwaysOffSampler() : new sdk.TraceIdRatioBasedSampler(config.samplerRatio)
  const tracerProvider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    sampler: config.sampler.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root: base }) : base,
    spanProcessors: exporter === undefined ? [] : [new sdk.BatchSpanProcessor(exporter)],
  })
  tracerProvider.register({ propagator: new W3CTraceContextPropagator() })
  const instrumentations: Instrumentation[] = [
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      instrumentHooks: false,
      instrumentHandler: false,
      ignorePaths: (route) => UNTRACED_PATHS.has(route.url),
      requestHook: (span, request) => span.updateName(`${request.method} ${request.routeOptions.url ?? ''}`.trim()),
    }),
    new UndiciInstrumentation(),
  ]
  if (opts.redis) {
    const { IORedisInstrumentation } = await import('@opentelemetry/instrumentation-ioredis')
    instrumentations.push(new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (cmd) => cmd }))
  }
  instrumentation.registerInstrumentations({ tracerProvider, instrumentations })
  // The app imported ioredis (ESM) before this hook existed: one require hands the hook the
  // same module object, which it patches in place.
  if (opts.redis) createRequire(import.meta.url)('ioredis')
  provider = tracerProvider
}

/** Exports what is still buffered and stops the SDK (serve.ts, on close). */
export async function stopTracing (): Promise<void> {
  const stopping = provider
  provider = undefined
  await stopping?.shutdown()
}

/** The active span's ids for a log line (pino's mixin: a new object, pino merges into it); none outside a span. */
export function traceLogFields (): object {
  const span = trace.getActiveSpan()?.spanContext()
  return span === undefined || !isSpanContextValid(span) ? {} : { trace_id: span.traceId, span_id: span.spanId }
}

const tracer = trace.getTracer('jwt-edge')

/**
 * Runs `fn` as the active span `name` (a no-op span while tracing is off): the span ends when
 * `fn` settles; a throw marks it as an error, with the error's name only.
 */
export async function inSpan<T> (name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return await tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span)
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.setAttribute('error.type', (err as Error)?.name ?? 'Error')
      throw err
    } finally {
      span.end()
    }
  })
}

const nothing = (): void => {}

/**
 * A request answered by a WebSocket handshake: Fastify sends no reply, so @fastify/otel never ends
 * its span. Call at once, in the request's context; the function it returns ends that span as a 101.
 */
export function upgradeSpanEnd (): () => void {
  const span = tracingStarted() ? trace.getActiveSpan() : undefined
  if (span === undefined) return nothing
  return () => {
    span.setAttribute('http.response.status_code', 101)
    span.end()
  }
}
