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

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type Leveled = FastifyBaseLogger & { isLevelEnabled: (level: string) => boolean }

/**
 * Fastify's per-request logger (request.log: the reqId binding), made only when a request
 * logs: most never do (the access line is access-line.ts's), and a pino child costs a few µs
 * and its garbage on every request. A class: no closures made per request.
 */
class LazyChildLogger {
  private made: Leveled | undefined
  constructor (
    private readonly parent: Leveled, private readonly bindings: Bindings, private readonly opts: ChildLoggerOptions
  ) {}

  private real (): Leveled {
    return (this.made ??= this.parent.child(this.bindings, this.opts) as Leveled)
  }

  get level (): string { return (this.made ?? this.parent).level }
  set level (value: string) { this.real().level = value }
  child (bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger { return this.real().child(bindings, opts) }
  isLevelEnabled (level: string): boolean { return (this.made ?? this.parent).isLevelEnabled(level) }
  silent (): void {}
  fatal (...args: unknown[]): void { this.call('fatal', args) }
  error (...args: unknown[]): void { this.call('error', args) }
  warn (...args: unknown[]): void { this.call('warn', args) }
  info (...args: unknown[]): void { this.call('info', args) }
  debug (...args: unknown[]): void { this.call('debug', args) }
  trace (...args: unknown[]): void { this.call('trace', args) }
  private call (level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return
    (this.real()[level] as (...a: unknown[]) => void)(...args)
  }
}

export function lazyChildLogger (
  logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions
): FastifyBaseLogger {
  return new LazyChildLogger(logger as Leveled, bindings, opts) as unknown as FastifyBaseLogger
}
