import t from 'tap'
import { ConfigError } from '../../kernel/env.js'
import { loadServiceConfig } from '../config.js'

const assertionDefaults = (audience: string) => ({
  mode: 'off',
  jwksUrl: 'http://127.0.0.1:8080/.well-known/gateway-jwks.json',
  issuer: 'urn:jwt-edge:gateway',
  audience,
  clockToleranceS: 5,
})
const tracingOff = (serviceName: string) => ({
  mode: 'off', serviceName, tracesUrl: '', sampler: 'parentbased_always_off', samplerRatio: 1,
})

t.test('loadServiceConfig uses the defaults', async (t) => {
  t.same(loadServiceConfig({}, 'ORDERS', 4101), {
    host: '127.0.0.1',
    port: 4101,
    logLevel: 'info',
    identityAssertion: assertionDefaults('orders'),
    tracing: tracingOff('orders'),
  })
})

t.test('loadServiceConfig reads IDENTITY_ASSERTION, GATEWAY_JWKS_URL, GATEWAY_ISSUER, <PREFIX>_ROUTE_ID', async (t) => {
  const config = loadServiceConfig({
    IDENTITY_ASSERTION: 'required',
    GATEWAY_JWKS_URL: 'https://gw.example.com/.well-known/gateway-jwks.json',
    GATEWAY_ISSUER: 'urn:acme:gw',
    ORDERS_ROUTE_ID: 'shop-orders',
    USERS_ROUTE_ID: 'ignored',
  }, 'ORDERS', 4101)
  t.same(config.identityAssertion, {
    mode: 'required',
    jwksUrl: 'https://gw.example.com/.well-known/gateway-jwks.json',
    issuer: 'urn:acme:gw',
    audience: 'shop-orders',
    clockToleranceS: 5,
  })
  const err = t.throws(() => loadServiceConfig({ IDENTITY_ASSERTION: 'on', GATEWAY_JWKS_URL: 'ftp://x' }, 'ORDERS', 1))
  t.match((err as Error).message, /IDENTITY_ASSERTION must be one of/)
  t.match((err as Error).message, /GATEWAY_JWKS_URL/)
})

t.test('loadServiceConfig reads <PREFIX>_HOST, <PREFIX>_PORT and LOG_LEVEL', async (t) => {
  const config = loadServiceConfig(
    { USERS_HOST: '::1', USERS_PORT: '0', LOG_LEVEL: 'warn', ORDERS_PORT: '9' },
    'USERS',
    4102
  )
  t.same(config, {
    host: '::1', port: 0, logLevel: 'warn', identityAssertion: assertionDefaults('users'), tracing: tracingOff('users'),
  })
  t.ok(Object.isFrozen(config))
})

t.test('loadServiceConfig reads the OTEL_* variables, the service named by its prefix', async (t) => {
  const config = loadServiceConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'PAYMENTS', 4103)
  t.match(config.tracing, { mode: 'export', serviceName: 'payments', tracesUrl: 'http://127.0.0.1:4318/v1/traces' })
})

t.test('loadServiceConfig reports every bad variable at once', async (t) => {
  const bad = { PAYMENTS_PORT: '80x', LOG_LEVEL: 'loud' }
  const err = t.throws(() => loadServiceConfig(bad, 'PAYMENTS', 4103)) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.problems.length, 2)
  t.match(err.message, /PAYMENTS_PORT must be a whole number in 0\.\.65535 \(got "80x"\)/)
  t.match(err.message, /LOG_LEVEL must be one of/)
  t.throws(() => loadServiceConfig({ PAYMENTS_PORT: '70000' }, 'PAYMENTS', 4103), /PAYMENTS_PORT/)
  t.throws(() => loadServiceConfig({ PAYMENTS_PORT: '-1' }, 'PAYMENTS', 4103), /PAYMENTS_PORT/)
})
