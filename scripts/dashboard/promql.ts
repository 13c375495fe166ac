/**
 * The series a PromQL expression names, for checking a dashboard against what the apps export
 * (scripts/test/dashboard.test.ts) — not a PromQL parser, a tokenizer that knows enough:
 *
 * - a metric name is an identifier that is not a function or aggregation (not followed by `(`),
 *   not a keyword (`by`, `offset`, `and`, ...), and not inside `{...}`, `[...]` or a string
 * - `name{a="x", b=~"y"}`: the label names of the matchers come with the name
 * - `by (...)`, `without (...)`, `on (...)`, `ignoring (...)`, `group_left (...)` hold label
 *   names, skipped; `{__name__="x"}` names x
 */

export interface SeriesRef {
  /** As written: `gateway_request_duration_seconds_bucket`, suffix and all. */
  name: string
  /** Label names of the matchers written on this selector. */
  labels: string[]
}

const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y
const MATCHER = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*,?/y

const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])
const KEYWORDS = new Set([
  'and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan',
  // aggregations may be followed by `by (...)` before their `(`
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
  'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
])

/** Every selector of `expr`, in order of appearance (duplicates kept). */
export function seriesOf (expr: string): SeriesRef[] {
  const refs: SeriesRef[] = []
  let i = 0
  const skipSpace = () => { while (i < expr.length && /\s/.test(expr[i]!)) i++ }
  const skipPast = (close: string) => {
    const end = expr.indexOf(close, i)
    if (end === -1) throw new Error(`unclosed "${expr[i - 1]}" in: ${expr}`)
    i = end + 1
  }
  /** Parses `{...}` at i (i on the brace); returns the matchers. */
  const matchers = (): Array<{ label: string, op: string, value: string }> => {
    const found: Array<{ label: string, op: string, value: string }> = []
    i++
    for (;;) {
      skipSpace()
      if (expr[i] === '}') { i++; return found }
      MATCHER.lastIndex = i
      const m = MATCHER.exec(expr)
      if (!m) throw new Error(`bad label matcher at ${i} in: ${expr}`)
      found.push({ label: m[1]!, op: m[2]!, value: m[3]!.slice(1, -1) })
      i = MATCHER.lastIndex
    }
  }
  while (i < expr.length) {
    const c = expr[i]!
    if (c === '"' || c === "'" || c === '`') {
      i++
      while (i < expr.length && expr[i] !== c) i += expr[i] === '\\' ? 2 : 1
      i++
    } else if (c === '[') {
      i++
      skipPast(']')
    } else if (c === '{') {
      // a selector with no name before it: {__name__="x", ...}
      const ms = matchers()
      const name = ms.find((m) => m.label === '__name__' && m.op === '=')
      if (name) refs.push({ name: name.value, labels: ms.filter((m) => m !== name).map((m) => m.label) })
    } else if (c === '$') {
      i++ // a dashboard variable ($__rate_interval): its name is no series
      IDENT.lastIndex = i
      if (IDENT.exec(expr)) i = IDENT.lastIndex
    } else if (/[0-9.]/.test(c)) {
      while (i < expr.length && /[0-9a-zA-Z.]/.test(expr[i]!)) i++ // numbers, durations (5m), 1e3, 0x1f
    } else if (/[a-zA-Z_:]/.test(c)) {
      IDENT.lastIndex = i
      const word = IDENT.exec(expr)![0]
      i = IDENT.lastIndex
      skipSpace()
      if (LABEL_LISTS.has(word)) {
        if (expr[i] === '(') { i++; skipPast(')') }
      } else if (expr[i] === '(' || KEYWORDS.has(word)) {
        // a function or aggregation: its arguments are read by the loop
      } else {
        refs.push({ name: word, labels: expr[i] === '{' ? matchers().map((m) => m.label) : [] })
      }
    } else {
      i++
    }
  }
  return refs
}

/** Grafana's variables in a query, replaced as Grafana would for one time range and step. */
export interface QueryVariables { rateInterval: string, interval: string, range?: string }

export function expandVariables (expr: string, vars: QueryVariables): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval)
    .replaceAll('$__interval', vars.interval)
    .replaceAll('$__range', vars.range ?? vars.interval)
}
