/**
 * `${NAME}` and `${NAME:-default}` in the gateway file's strings, read from the environment
 * given (defaults may nest: `${A:-${B:-x}}`; `$$` is a literal `$`).
 * - A variable that is not set and has no default is a problem at its place.
 * - A string that is one placeholder and resolves to a YAML number or boolean becomes that
 *   value, so `perMinute: ${RATE_LIMIT_API:-600}` is the number 600.
 */
import type { Env } from '../../../services/kernel/env.js'
import { formatPath, type Path } from './path.js'

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const SCALAR = /^(?:-?\d+(?:\.\d+)?|true|false)$/

export interface Interpolated { value: unknown, problems: string[] }

export function interpolate (value: unknown, env: Env): Interpolated {
  const problems: string[] = []
  const walk = (v: unknown, path: Path): unknown => {
    if (typeof v === 'string') return resolveString(v, env, (p) => problems.push(`${formatPath(path)}: ${p}`))
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]))
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])]))
    }
    return v
  }
  return { value: walk(value, []), problems }
}

function resolveString (text: string, env: Env, problem: (text: string) => void): unknown {
  if (!text.includes('$')) return text
  const { out, end } = expand(text, 0, env, problem, false)
  if (end < text.length) problem(`unexpected "}" at character ${end + 1}`)
  const whole = text.startsWith('${') && findPlaceholderEnd(text, 2) === text.length - 1
  if (whole && SCALAR.test(out)) return out === 'true' ? true : out === 'false' ? false : Number(out)
  return out
}

/** Expands from `at` until the end, or until an unmatched `}` when `inner`; returns where it stopped. */
function expand (text: string, at: number, env: Env, problem: (t: string) => void, inner: boolean) {
  let out = ''
  let i = at
  while (i < text.length) {
    const c = text[i]
    if (inner && c === '}') return { out, end: i }
    if (c === '$' && text[i + 1] === '$') { out += '$'; i += 2; continue }
    if (c !== '$' || text[i + 1] !== '{') { out += c; i++; continue }
    const close = findPlaceholderEnd(text, i + 2)
    if (close < 0) { problem(`"\${" at character ${i + 1} is never closed`); return { out, end: text.length } }
    const body = text.slice(i + 2, close)
    const sep = body.indexOf(':-')
    const name = sep < 0 ? body : body.slice(0, sep)
    if (!NAME.test(name)) problem(`"\${${body}}" is not \${NAME} or \${NAME:-default}`)
    const set = env[name]
    if (set !== undefined && set !== '') out += set
    else if (sep >= 0) out += expand(text, i + 2 + sep + 2, env, problem, true).out
    else if (NAME.test(name)) problem(`\${${name}} is not set (give it a value or a default: \${${name}:-value})`)
    i = close + 1
  }
  return { out, end: i }
}

function findPlaceholderEnd (text: string, from: number): number {
  let depth = 1
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') { depth++; i++ } else if (text[i] === '}' && --depth === 0) return i
  }
  return -1
}
