/**
 * Makes a child's pino JSON line short and readable for `npm start`:
 * `15:42:08 INFO  incoming request GET /orders reqId=req-1`. Anything else passes unchanged.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
/** pino's own fields, and the ones shown specially. */
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v', 'req', 'res', 'err', 'responseTime', 'reqId'])
const MAX_FIELDS = 4
const MAX_VALUE = 80

function short (value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  const quoted = /\s/.test(text) ? JSON.stringify(text) : text
  return quoted.length > MAX_VALUE ? `${quoted.slice(0, MAX_VALUE - 1)}…` : quoted
}

function clock (time: unknown): string {
  if (typeof time !== 'number') return ''
  return new Date(time).toISOString().slice(11, 19) + ' '
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Returns one or more lines (a fatal/error line may carry the error's stack below it). */
export function formatLogLine (line: string): string {
  if (!line.startsWith('{')) return line
  let entry: unknown
  try { entry = JSON.parse(line) } catch { return line }
  if (!isObj(entry) || typeof entry.level !== 'number') return line

  const level = (LEVELS[entry.level] ?? String(entry.level)).padEnd(5)
  const msg = typeof entry.msg === 'string' ? entry.msg : ''
  const parts = [`${clock(entry.time)}${level} ${msg}`.trimEnd()]
  if (isObj(entry.req) && typeof entry.req.method === 'string') {
    parts.push(`${entry.req.method} ${String(entry.req.url)}`)
  }
  if (isObj(entry.res) && entry.res.statusCode !== undefined) parts.push(String(entry.res.statusCode))
  if (typeof entry.responseTime === 'number') parts.push(`${Math.round(entry.responseTime)}ms`)
  let fields = 0
  for (const [key, value] of Object.entries(entry)) {
    if (SKIP.has(key) || value === undefined || isObj(value) || fields >= MAX_FIELDS) continue
    // Already said in the message (e.g. `orders ready at <url>` with a `url` field).
    if (typeof value === 'string' && value.length > 0 && msg.includes(value)) continue
    parts.push(`${key}=${short(value)}`)
    fields++
  }
  if (entry.reqId !== undefined) parts.push(`reqId=${short(entry.reqId)}`)
  let out = parts.join(' ')
  if (isObj(entry.err)) {
    out += ` err=${short(`${String(entry.err.type ?? 'Error')}: ${String(entry.err.message ?? '')}`)}`
    if (entry.level >= 50 && typeof entry.err.stack === 'string') {
      out += '\n' + entry.err.stack.split('\n').slice(1, 6).join('\n')
    }
  }
  return out
}
