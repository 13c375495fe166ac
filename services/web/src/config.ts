/**
 * The web app server's configuration: parsed and validated once from the environment,
 * every bad variable reported together (only server.ts passes process.env).
 */
import { fileURLToPath } from 'node:url'

const DEFAULT_WEB_HOST = '127.0.0.1'
export const DEFAULT_WEB_PORT = 4104
export const DEFAULT_LOG_LEVEL = 'info'
/** The Vite build output, resolved from this file so the cwd does not matter. */
const DEFAULT_DIST_DIR = fileURLToPath(new URL('../dist', import.meta.url))

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface WebConfig {
  host: string
  port: number
  logLevel: string
  /** Directory holding index.html and assets/ (the Vite build). */
  distDir: string
}

export class ConfigError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`invalid web app configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export function loadConfig (env: NodeJS.ProcessEnv): Readonly<WebConfig> {
  const problems: string[] = []

  const host = env.WEB_HOST?.trim() || DEFAULT_WEB_HOST

  let port = DEFAULT_WEB_PORT
  if (env.WEB_PORT !== undefined && env.WEB_PORT !== '') {
    port = Number(env.WEB_PORT)
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      problems.push(`WEB_PORT must be an integer 0-65535, got "${env.WEB_PORT}"`)
    }
  }

  const logLevel = env.LOG_LEVEL?.trim() || DEFAULT_LOG_LEVEL
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`)
  }

  const distDir = env.WEB_DIST_DIR?.trim() || DEFAULT_DIST_DIR

  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({ host, port, logLevel, distDir })
}
