/**
 * Config of a demo service: `<NAME>_HOST`, `<NAME>_PORT`, LOG_LEVEL, and the identity assertion
 * check (identity-assertion.ts): IDENTITY_ASSERTION (off | optional | required, default off),
 * GATEWAY_JWKS_URL, GATEWAY_ISSUER, `<NAME>_ROUTE_ID` (the service's route id in the gateway
 * file; default the lower-case name), and tracing (the OTEL_* variables, kernel tracing.ts).
 * Pure: reads only the env object it is given and reports every bad variable in one ConfigError.
 */
import { IDENTITY_ASSERTION } from '../../gateway/src/contract.js'
import { envReader, type Env, type LogLevel } from '../kernel/env.js'
import { readTracingConfig, type TracingConfig } from '../kernel/tracing.js'
import {
  DEFAULT_ASSERTION_CLOCK_TOLERANCE_S, DEFAULT_GATEWAY_JWKS_URL, IDENTITY_ASSERTION_MODES,
  type IdentityAssertionSettings,
} from './identity-assertion.js'

export interface ServiceConfig {
  host: string
  port: number
  logLevel: LogLevel
  /** Absent (a service built without env, e.g. in tests): off. */
  identityAssertion?: Readonly<IdentityAssertionSettings>
  /** The OTEL_* variables (kernel tracing.ts); absent: off. */
  tracing?: Readonly<TracingConfig>
}

export const DEFAULT_HOST = '127.0.0.1'

/** `prefix` is the env name prefix (`ORDERS` reads ORDERS_HOST, ORDERS_PORT and ORDERS_ROUTE_ID). */
export function loadServiceConfig (env: Env, prefix: string, defaultPort: number): Readonly<ServiceConfig> {
  const read = envReader(env)
  const config = {
    host: read.str(`${prefix}_HOST`, DEFAULT_HOST),
    port: read.int(`${prefix}_PORT`, defaultPort, 0, 65535),
    logLevel: read.logLevel(),
    identityAssertion: Object.freeze({
      mode: read.oneOf('IDENTITY_ASSERTION', 'off', IDENTITY_ASSERTION_MODES),
      jwksUrl: read.url('GATEWAY_JWKS_URL', DEFAULT_GATEWAY_JWKS_URL, ['http:', 'https:']),
      issuer: read.str('GATEWAY_ISSUER', IDENTITY_ASSERTION.defaultIssuer),
      audience: read.str(`${prefix}_ROUTE_ID`, prefix.toLowerCase()),
      clockToleranceS: read.num('CLOCK_TOLERANCE', DEFAULT_ASSERTION_CLOCK_TOLERANCE_S, { max: 300 }),
    }),
    tracing: readTracingConfig(read, prefix.toLowerCase()),
  }
  read.done(prefix.toLowerCase())
  return Object.freeze(config)
}
