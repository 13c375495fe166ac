/**
 * Logger options of every process (pino through Fastify): one redaction list, so no process
 * ever logs a token, a cookie or a password, wherever a serializer or a log call puts it.
 * @see https://getpino.io/#/docs/redaction
 */
import type { DestinationStream, LoggerOptions } from 'pino'
import { traceLogFields, tracingStarted } from './tracing.js'

/** Credential headers, and tokens, cookies and passwords at the top level or one level down. */
export const LOG_REDACT_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'res.headers["set-cookie"]',
  'authorization', 'cookie', '["set-cookie"]', '["proxy-authorization"]',
  'token', 'accessToken', 'refreshToken', 'password',
  '*.authorization', '*.cookie', '*["set-cookie"]', '*["proxy-authorization"]',
  '*.token', '*.accessToken', '*.refreshToken', '*.password',
])

export type KernelLoggerOptions = LoggerOptions & { stream?: DestinationStream }

/**
 * A redacting logger at `level`, writing to `stream` when given (tests capture it), else stdout;
 * once tracing is started (tracing.ts), each line inside a span carries its trace_id and span_id.
 */
export function loggerOptions (level: string, stream?: DestinationStream): KernelLoggerOptions {
  return {
    level,
    redact: { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' },
    ...(tracingStarted() && { mixin: traceLogFields }),
    ...(stream && { stream }),
  }
}

/** A URL safe to print or log: any password replaced. */
export function safeUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString().replace(/\/$/, '')
  } catch {
    return '(unparsable URL)'
  }
}
