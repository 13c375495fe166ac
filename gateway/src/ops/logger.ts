/**
 * The gateway's logger: the kernel's redacting options, written through a 4 KiB buffer.
 *
 * - asynchronous, flushed at least every 250 ms: one write (a syscall and a thread-pool hop)
 *   carries ~25 request lines, not one
 * - pino flushes it at a normal exit; on SIGKILL or an out-of-memory crash up to 4 KiB or
 *   250 ms of lines are lost
 * - one line per request, written by request-log.ts
 */
import { destination, type DestinationStream } from 'pino'
import { loggerOptions as kernelLoggerOptions, type KernelLoggerOptions } from '../../../services/kernel/logging.js'
import type { LogLevel } from '../../../services/kernel/env.js'

const buffered = () => destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 })

export function loggerOptions (level: LogLevel, stream?: DestinationStream): KernelLoggerOptions {
  return kernelLoggerOptions(level, stream ?? buffered())
}
