/**
 * Reads the gateway file (GATEWAY_CONFIG) and parses it by extension: YAML (.yaml, .yml) or
 * JSON (.json). Nothing here throws for a bad file: every problem comes back as text naming
 * the place (a YAML or JSON syntax error names its line and column).
 */
import { open } from 'node:fs/promises'
import { extname } from 'node:path'
import { LineCounter, parseDocument } from 'yaml'

/** A routes file is a few kilobytes; anything past this is a mistake, not a config. */
export const MAX_FILE_BYTES = 1024 * 1024

export type ReadResult = { ok: true, text: string } | { ok: false, problems: string[] }
export type ParseResult = { ok: true, value: unknown } | { ok: false, problems: string[] }

export async function readGatewayFile (path: string): Promise<ReadResult> {
  let file
  try {
    file = await open(path, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { ok: false, problems: [`${path}: cannot be read (${code === 'ENOENT' ? 'no such file' : code})`] }
  }
  try {
    const stat = await file.stat()
    if (!stat.isFile()) return { ok: false, problems: [`${path}: not a regular file`] }
    if (stat.size > MAX_FILE_BYTES) {
      return { ok: false, problems: [`${path}: ${stat.size} bytes, over the ${MAX_FILE_BYTES}-byte limit`] }
    }
    const bytes = await file.readFile()
    if (bytes.length > MAX_FILE_BYTES) {
      return { ok: false, problems: [`${path}: over the ${MAX_FILE_BYTES}-byte limit`] }
    }
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
    return { ok: true, text }
  } catch (err) {
    const reason = err instanceof TypeError ? 'not UTF-8 text' : (err as NodeJS.ErrnoException).code ?? 'read failed'
    return { ok: false, problems: [`${path}: cannot be read (${reason})`] }
  } finally {
    await file.close()
  }
}

/** `format` is the file's extension: .json is JSON, .yaml and .yml are YAML. */
export function parseGatewayFile (text: string, path: string): ParseResult {
  const ext = extname(path).toLowerCase()
  if (ext === '.json') return parseJson(text, path)
  if (ext === '.yaml' || ext === '.yml') return parseYaml(text, path)
  return { ok: false, problems: [`${path}: unknown format "${ext}" (use .yaml, .yml or .json)`] }
}

function parseJson (text: string, path: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    // JSON.parse's message does not always say where; YAML (a superset of JSON) finds the place.
    const reason = (err as Error).message.split('\n')[0]!.replace(/, ".*$/s, '')
    const yaml = parseYaml(text, path)
    const place = !yaml.ok ? /^[^:]+:(\d+:\d+):/.exec(yaml.problems[0] ?? '')?.[1] : undefined
    return { ok: false, problems: [`${path}${place ? `:${place}` : ''}: invalid JSON: ${reason}`] }
  }
}

function parseYaml (text: string, path: string): ParseResult {
  const lineCounter = new LineCounter()
  // One document, plain data: no custom tags, no aliases blown up into huge values.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
  const errors = [...doc.errors, ...doc.warnings]
  if (errors.length > 0) {
    return {
      ok: false,
      problems: errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0])
        return `${path}:${line}:${col}: invalid YAML: ${e.message.split('\n')[0]}`
      }),
    }
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) }
  } catch (err) {
    return { ok: false, problems: [`${path}: invalid YAML: ${(err as Error).message}`] }
  }
}
