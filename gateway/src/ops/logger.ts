/**
 * The gateway's logger: the kernel's redacting options, written through a 4 KiB buffer.
 *
 * - asynchronous, flushed at least every 250 ms: one write (a syscall and a thread-pool hop)
 *   carries ~25 request lines, not one
 * - pino flushes it at a normal exit; on SIGKILL or an out-of-memory crash up to 4 KiB or
 *   250 ms of lines are lost
 * - one line per request, written by request-log.ts
 */
import type { FastifyBaseLogger } from 'fastify'
import { destination, type Bindings, type ChildLoggerOptions, type DestinationStream } from 'pino'
import { loggerOptions as kernelLoggerOptions, type KernelLoggerOptions } from '../../../services/kernel/logging.js'
import type { LogLevel } from '../../../services/kernel/env.js'

const buffered = () => destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 })

export function loggerOptions (level: LogLevel, stream?: DestinationStream): KernelLoggerOptions {
  return kernelLoggerOptions(level, stream ?? buffered())
}

interface Leveled { isLevelEnabled: (level: string) => boolean }
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']

/**
 * Fastify's per-request logger (request.log: the reqId binding), made only when a request
 * logs: most never do (the access line is access-line.ts's), and a pino child costs a few µs
 * and its garbage on every request.
 */
export function lazyChildLogger (
  logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions
): FastifyBaseLogger {
  let child: FastifyBaseLogger | undefined
  const real = (): FastifyBaseLogger => (child ??= logger.child(bindings, opts))
  const lazy = {
    get level () { return child?.level ?? logger.level },
    set level (value: string) { real().level = value },
    child: (b: Bindings, o?: ChildLoggerOptions) => real().child(b, o),
    silent: () => {},
    isLevelEnabled: (level: string) => ((child ?? logger) as unknown as Leveled).isLevelEnabled(level),
  } as unknown as FastifyBaseLogger
  for (const level of LEVELS) {
    (lazy as unknown as Record<Level, (...args: unknown[]) => void>)[level] = (...args: unknown[]) => {
      (real()[level] as (...a: unknown[]) => void)(...args)
    }
  }
  return lazy
}
