/**
 * The checked-in Grafana dashboard (ops/grafana/dashboards/jwt-edge.json) as data: its panels
 * and their Prometheus queries, and what makes it a dashboard Grafana provisions (a datasource
 * variable every query panel uses, unique panel ids, titles, grid positions). Shared by the
 * dashboard test and `npm run dashboard:render`.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const DASHBOARD_FILE = 'ops/grafana/dashboards/jwt-edge.json'
/** The datasource variable: Grafana substitutes the Prometheus datasource chosen in its picker. */
export const DATASOURCE_VARIABLE = 'datasource'
export const DATASOURCE_REF = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` } as const

export interface GridPos { h: number, w: number, x: number, y: number }
export interface Target { refId: string, expr: string, legendFormat?: string, datasource?: unknown }
export interface Panel {
  id: number
  type: string
  title: string
  description?: string
  gridPos: GridPos
  datasource?: { type?: string, uid?: string }
  fieldConfig?: { defaults?: { unit?: string, min?: number, max?: number } }
  targets?: Target[]
  panels?: Panel[]
}
export interface Dashboard {
  uid: string
  title: string
  schemaVersion: number
  templating: { list: Array<{ name: string, type: string, query?: string }> }
  panels: Panel[]
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function loadDashboard (file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file.startsWith('/') ? file : `${ROOT}${file}`, 'utf8')) as Dashboard
}

/** Every panel, those nested in collapsed rows included, in file order. */
export function allPanels (d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])])
}

/** The panels that query (every type but rows). */
export function queryPanels (d: Dashboard): Panel[] {
  return allPanels(d).filter((p) => p.type !== 'row')
}

const sameRef = (ref: unknown) => {
  const r = ref as { type?: unknown, uid?: unknown } | undefined
  return r?.type === DATASOURCE_REF.type && r.uid === DATASOURCE_REF.uid
}

/** What keeps the file from being a dashboard Grafana provisions and renders as meant; [] when none. */
export function dashboardProblems (d: Dashboard): string[] {
  const problems: string[] = []
  if (typeof d.uid !== 'string' || !/^[a-zA-Z0-9_-]{1,40}$/.test(d.uid)) problems.push('uid: 1-40 of [a-zA-Z0-9_-]')
  if (typeof d.title !== 'string' || d.title === '') problems.push('title: missing')
  if (!Number.isInteger(d.schemaVersion)) problems.push('schemaVersion: missing')
  const variable = d.templating?.list?.find((v) => v.name === DATASOURCE_VARIABLE)
  if (variable?.type !== 'datasource' || variable.query !== 'prometheus') {
    problems.push(`templating: no "${DATASOURCE_VARIABLE}" variable of type datasource over prometheus`)
  }
  const ids = new Map<number, string>()
  const titles = new Set<string>()
  for (const p of allPanels(d)) {
    const at = `panel ${p.id} "${p.title}"`
    if (!Number.isInteger(p.id)) problems.push(`${at}: id is not an integer`)
    if (ids.has(p.id)) problems.push(`${at}: id also used by "${ids.get(p.id)}"`)
    ids.set(p.id, p.title)
    if (typeof p.title !== 'string' || p.title.trim() === '') problems.push(`${at}: no title`)
    else if (p.type !== 'row' && titles.has(p.title)) problems.push(`${at}: title used twice`)
    titles.add(p.title)
    const g = p.gridPos
    if (!g || ![g.h, g.w, g.x, g.y].every(Number.isInteger) || g.x < 0 || g.w < 1 || g.x + g.w > 24) {
      problems.push(`${at}: gridPos outside the 24-column grid`)
    }
    if (p.type === 'row') continue
    if (!sameRef(p.datasource)) problems.push(`${at}: datasource is not \${${DATASOURCE_VARIABLE}}`)
    if (!p.targets?.length) problems.push(`${at}: no queries`)
    const refIds = new Set<string>()
    for (const target of p.targets ?? []) {
      if (typeof target.expr !== 'string' || target.expr.trim() === '') problems.push(`${at}: empty query`)
      if (refIds.has(target.refId)) problems.push(`${at}: refId ${target.refId} twice`)
      refIds.add(target.refId)
      if (target.datasource !== undefined && !sameRef(target.datasource)) {
        problems.push(`${at} ${target.refId}: datasource is not \${${DATASOURCE_VARIABLE}}`)
      }
    }
  }
  return problems
}
