/**
 * Config of a demo service: `<NAME>_HOST`, `<NAME>_PORT`, LOG_LEVEL. Pure: reads only the
 * env object it is given and reports every bad variable in one ConfigError.
 */
import { envReader, type Env, type LogLevel } from '../kernel/env.js'

export interface ServiceConfig {
  host: string
  port: number
  logLevel: LogLevel
}

export const DEFAULT_HOST = '127.0.0.1'

/** `prefix` is the env name prefix (`ORDERS` reads ORDERS_HOST and ORDERS_PORT). */
export function loadServiceConfig (env: Env, prefix: string, defaultPort: number): Readonly<ServiceConfig> {
  const read = envReader(env)
  const config = {
    host: read.str(`${prefix}_HOST`, DEFAULT_HOST),
    port: read.int(`${prefix}_PORT`, defaultPort, 0, 65535),
    logLevel: read.logLevel(),
  }
  read.done(prefix.toLowerCase())
  return Object.freeze(config)
}
