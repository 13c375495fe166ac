/**
 * The gateway's logger: the kernel's redacting options, written through a 4 KiB buffer
 * asynchronously and at least every 250 ms, so one write (a syscall and a thread-pool hop)
 * carries ~25 request lines, not one. pino flushes it at a normal exit; on SIGKILL or an
 * out-of-memory crash up to 4 KiB or 250 ms of lines are lost. One line per request is
 * written by the pipeline's onResponse hook.
 */
import { destination, type DestinationStream } from 'pino'
import { loggerOptions as kernelLoggerOptions, type KernelLoggerOptions } from '../../services/kernel/logging.js'
import type { LogLevel } from '../../services/kernel/env.js'

export function loggerOptions (level: LogLevel, stream?: DestinationStream): KernelLoggerOptions {
  return kernelLoggerOptions(level, stream ?? destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }))
}
