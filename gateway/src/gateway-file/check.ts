/**
 * `npm run config:check -- FILE`: validates a gateway file without starting anything and
 * prints its route table, or every problem. Plain text, one line per route or problem, so
 * CI logs read well; the exit code says which.
 */
import type { Env } from '../../../services/kernel/env.js'
import { loadGatewayFile, type GatewayFile } from './index.js'

export interface CheckResult { exitCode: 0 | 1, output: string }

export async function checkGatewayFile (path: string, env: Env): Promise<CheckResult> {
  const result = await loadGatewayFile(path, env)
  if (!result.ok) {
    const n = result.problems.length
    const lines = [`${path}: ${n} problem${n === 1 ? '' : 's'}`, ...result.problems.map((p) => `  - ${p}`)]
    return { exitCode: 1, output: lines.join('\n') }
  }
  return { exitCode: 0, output: `${path}: valid (version ${result.file.version})\n${routeTable(result.file)}` }
}

const COLUMNS = ['id', 'prefix', 'methods', 'auth', 'providers', 'roles', 'upstream'] as const

export function routeTable (file: GatewayFile): string {
  const rows = file.routes.map((r) => [
    r.id,
    r.exact ? `${r.prefix} (exact)` : r.prefix,
    r.methods.join(','),
    r.auth,
    r.providers.join(',') || '-',
    Object.entries(r.roles).map(([m, roles]) => `${m}:${roles.join('|')}`).join(' ') || '-',
    r.rewritePrefix === r.prefix ? r.upstream : `${r.upstream}${r.rewritePrefix}`,
  ])
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  const providers = file.providers.map((p) => `provider ${p.id}: ${p.issuer} (${p.jwksUrl ?? 'discovery'})`)
  return [...providers, line(COLUMNS), ...rows.map(line)].join('\n')
}
