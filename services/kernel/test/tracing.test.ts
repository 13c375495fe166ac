/**
 * The tracing settings from the OTEL_* variables (tracing.ts): the mode, the traces URL, the
 * sampler's defaults, and bad values reported with the rest. Starting the SDK is tested across
 * real processes (gateway/test/system/tracing.test.ts).
 */
import t from 'tap'
import { envReader } from '../env.js'
import { readTracingConfig } from '../tracing.js'

const ENDPOINT = 'http://127.0.0.1:4318'

t.test('the mode, the traces URL and the sampler follow the standard variables', async (t) => {
  const cases = [
    { d: 'nothing set: off', env: {}, want: { mode: 'off', tracesUrl: '', sampler: 'parentbased_always_off' } },
    {
      d: 'an endpoint: export to its /v1/traces (a trailing slash dropped), every trace sampled',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${ENDPOINT}/` },
      want: { mode: 'export', tracesUrl: `${ENDPOINT}/v1/traces`, sampler: 'parentbased_always_on' },
    },
    {
      d: 'OTEL_TRACES_EXPORTER=none: propagation only, even with an endpoint',
      env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT },
      want: { mode: 'propagate', tracesUrl: '', sampler: 'parentbased_always_off' },
    },
    {
      d: 'OTEL_SDK_DISABLED=true wins over everything',
      env: { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT },
      want: { mode: 'off' },
    },
    {
      d: 'the exporter\'s own traces variable alone does not turn tracing on',
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` },
      want: { mode: 'off' },
    },
    {
      d: 'a sampler and its ratio, and a service name',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT,
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_SERVICE_NAME: 'edge-1',
      },
      want: { mode: 'export', sampler: 'traceidratio', samplerRatio: 0.1, serviceName: 'edge-1' },
    },
  ]
  for (const c of cases) {
    const read = envReader(c.env)
    t.match(readTracingConfig(read, 'gateway'), { serviceName: 'gateway', samplerRatio: 1, ...c.want }, c.d)
    t.same(read.problems, [], `${c.d}: no problem`)
  }
})

t.test('bad values are problems of the process\'s configuration, all of them', async (t) => {
  const read = envReader({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
    OTEL_TRACES_EXPORTER: 'zipkin',
    OTEL_TRACES_SAMPLER: 'sometimes',
    OTEL_TRACES_SAMPLER_ARG: '1.5',
  })
  readTracingConfig(read, 'gateway')
  t.equal(read.problems.length, 4)
  t.match(read.problems, [/OTEL_EXPORTER_OTLP_ENDPOINT must be a http:\/\/ or https:\/\/ URL/,
    /OTEL_TRACES_EXPORTER must be one of otlp, none/, /OTEL_TRACES_SAMPLER must be one of/,
    /OTEL_TRACES_SAMPLER_ARG must be a number in 0\.\.1/])
})
