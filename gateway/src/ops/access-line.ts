/**
 * The access log line, written without pino's generic path: its fields are fixed and hold no
 * credential (nothing to redact), so the line is a template. It goes into the logger's own
 * destination (logger.ts: the same 4 KiB buffer, the same order as every other line), in
 * pino's format. When tracing is on, lines need the span's ids (kernel logging.ts's mixin):
 * then pino writes it as any other line.
 *
 * With `batch` (the gateway's own stdout destination, not a stream a test passed), lines are
 * handed on 8 KiB at a time, at least every 250 ms and at close: sonic-boom measures and
 * appends to its pending buffer on every write, which costs more per call the fuller that
 * buffer is (`npm run bench`: gateway against gateway-nolog).
 */
import { hostname } from 'node:os'
import pino, { type Logger } from 'pino'

export interface AccessEntry {
  reqId: string
  method: string
  url: string
  statusCode: number
  responseTime: number
}

export interface AccessLineWriter {
  write: (entry: AccessEntry) => void
  /** Hands on what is batched (at close). */
  flush: () => void
}

const BATCH_CHARS = 8192
const BATCH_MS = 250

const INFO = 30
/** JSON string escaping for values a client chose (the url, a request id it sent). */
const quote = (value: string): string => JSON.stringify(value)
const SAFE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/ // printable ASCII but " and \: no escaping needed

export interface AccessLineOptions {
  /** Tracing is on: pino writes the line, with the span's ids. */
  viaPino: boolean
  batch: boolean
}

export function accessLineWriter (logger: Logger, opts: AccessLineOptions): AccessLineWriter {
  const stream = (logger as unknown as Record<symbol, { write: (line: string) => void }>)[pino.symbols.streamSym]
  if (opts.viaPino || stream === undefined) {
    return { write: (entry) => logger.info(entry, 'request completed'), flush: () => {} }
  }
  let pending = ''
  let timer: NodeJS.Timeout | undefined
  const flush = (): void => {
    clearTimeout(timer)
    timer = undefined
    if (pending === '') return
    const lines = pending
    pending = ''
    stream.write(lines)
  }
  const head = `{"level":${INFO},"time":`
  const base = `,"pid":${process.pid},"hostname":${quote(hostname())},"reqId":`
  return {
    write (entry) {
      if (!logger.isLevelEnabled('info')) return
      const id = SAFE.test(entry.reqId) ? `"${entry.reqId}"` : quote(entry.reqId)
      const url = SAFE.test(entry.url) ? `"${entry.url}"` : quote(entry.url)
      const line = `${head}${Date.now()}${base}${id},"method":"${entry.method}","url":${url},` +
        `"statusCode":${entry.statusCode},"responseTime":${entry.responseTime},"msg":"request completed"}\n`
      if (!opts.batch) { stream.write(line); return }
      pending += line
      if (pending.length >= BATCH_CHARS) flush()
      else if (timer === undefined) (timer = setTimeout(flush, BATCH_MS)).unref()
    },
    flush,
  }
}
