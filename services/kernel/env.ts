/**
 * Environment parsing for every process: a reader that collects every problem, then one
 * ConfigError listing them all. Pure: it reads only the env object it is given.
 */

export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor (subject: string, problems: readonly string[]) {
    super(`Invalid ${subject} configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export type Env = Readonly<Record<string, string | undefined>>

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface NumberOptions { integer?: boolean, min?: number, max?: number }

export interface EnvReader {
  /** Every problem found so far; `done` throws them. */
  readonly problems: string[]
  /** The trimmed value, or `fallback` when unset or blank. */
  str (name: string, fallback: string): string
  /** Unset or blank: undefined. */
  optional (name: string): string | undefined
  num (name: string, fallback: number, opts?: NumberOptions): number
  int (name: string, fallback: number, min?: number, max?: number): number
  /** A URL with one of `protocols` (e.g. ['http:', 'https:']), trailing slashes removed. */
  url (name: string, fallback: string, protocols: readonly string[]): string
  oneOf<T extends string> (name: string, fallback: T, allowed: readonly T[]): T
  /** Comma-separated, entries trimmed, empty entries dropped. */
  list (name: string, fallback: string): string[]
  logLevel (): LogLevel
  /** Throws ConfigError(subject, problems) when any were found. */
  done (subject: string): void
}

export function envReader (env: Env): EnvReader {
  const problems: string[] = []
  const raw = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }
  const reader: EnvReader = {
    problems,
    str: (name, fallback) => raw(name) ?? fallback,
    optional: raw,
    num (name, fallback, opts = {}) {
      const v = raw(name)
      if (v === undefined) return fallback
      const value = Number(v)
      const pattern = opts.integer ? /^\d+$/ : /^\d+(\.\d+)?$/
      if (!pattern.test(v) || !Number.isFinite(value) || (opts.integer && !Number.isSafeInteger(value)) ||
        (opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
        const range = `${opts.min ?? 0}..${opts.max ?? 'inf'}`
        problems.push(`${name} must be a ${opts.integer ? 'whole ' : ''}number in ${range} (got "${env[name]}")`)
        return fallback
      }
      return value
    },
    int: (name, fallback, min = 0, max) => reader.num(name, fallback, { integer: true, min, max }),
    url (name, fallback, protocols) {
      const v = reader.str(name, fallback)
      if (!URL.canParse(v)) {
        problems.push(`${name} must be a URL (got "${v}")`)
        return fallback
      }
      if (!protocols.includes(new URL(v).protocol)) {
        problems.push(`${name} must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL (got "${v}")`)
      }
      return v.replace(/\/+$/, '')
    },
    oneOf (name, fallback, allowed) {
      const v = reader.str(name, fallback)
      const match = allowed.find((a) => a.toLowerCase() === v.toLowerCase())
      if (match === undefined) {
        problems.push(`${name} must be one of ${allowed.join(', ')} (got "${v}")`)
        return fallback
      }
      return match
    },
    list: (name, fallback) => reader.str(name, fallback).split(',').map((s) => s.trim()).filter((s) => s !== ''),
    logLevel: () => reader.oneOf<LogLevel>('LOG_LEVEL', 'info', LOG_LEVELS),
    done (subject) {
      if (problems.length > 0) throw new ConfigError(subject, problems)
    },
  }
  return reader
}
