/**
 * Logger options (pino through Fastify): one line per request is written by app.ts; tokens,
 * cookies and Set-Cookie are redacted wherever a serializer or a log call might put them.
 */
import { destination, type DestinationStream, type LoggerOptions } from 'pino'
import type { LogLevel } from './config.js'
import { LOG_REDACT_PATHS } from '../../services/common/app.js'

export function loggerOptions (level: LogLevel, stream?: DestinationStream): LoggerOptions & { stream?: DestinationStream } {
  return {
    level,
    redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
    // Default: stdout through a 4 KiB buffer written asynchronously and at least every 250 ms,
    // so one write (a syscall and a thread-pool hop) carries ~25 request lines, not one.
    // pino flushes it synchronously at exit.
    stream: stream ?? destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }),
  }
}
