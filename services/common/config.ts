/**
 * Config of a demo service: `<NAME>_HOST`, `<NAME>_PORT`, LOG_LEVEL. Pure: reads only the
 * env object it is given and reports every bad variable in one ConfigError.
 */

export interface ServiceConfig {
  host: string
  port: number
  logLevel: string
}

export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_LOG_LEVEL = 'info'
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export class ConfigError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** `prefix` is the env name prefix (`ORDERS` reads ORDERS_HOST and ORDERS_PORT). */
export function loadServiceConfig (env: NodeJS.ProcessEnv, prefix: string, defaultPort: number): Readonly<ServiceConfig> {
  const problems: string[] = []
  const host = env[`${prefix}_HOST`] || DEFAULT_HOST
  const rawPort = env[`${prefix}_PORT`]
  let port = defaultPort
  if (rawPort !== undefined && rawPort !== '') {
    port = Number(rawPort)
    if (!/^\d+$/.test(rawPort) || port > 65535) {
      problems.push(`${prefix}_PORT must be an integer from 0 to 65535, got "${rawPort}"`)
    }
  }
  const logLevel = env.LOG_LEVEL || DEFAULT_LOG_LEVEL
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({ host, port, logLevel })
}
