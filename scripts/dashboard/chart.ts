/**
 * The dashboard as one HTML page of inline SVG line charts, laid out on the panels' gridPos as
 * Grafana lays them (24 columns), from query results already fetched (render.ts). Pure: data in,
 * markup out. Not Grafana: a stand-in for a screenshot where Grafana cannot run.
 */
import type { Dashboard, Panel } from './dashboard.js'

export interface Series { legend: string, points: Array<[number, number]> }
export interface PanelData { panel: Panel, series: Series[], errors: string[] }
export interface PageOptions { start: number, end: number, width: number, note: string }

const PALETTE = ['#73BF69', '#F2CC0C', '#8AB8FF', '#FF780A', '#F2495C', '#5794F2', '#B877D9', '#FADE2A',
  '#37872D', '#C4162A', '#1F60C4', '#8F3BB8']
const ROW_UNIT_PX = 30
const MAX_LEGEND = 8

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

function number (v: number): string {
  const a = Math.abs(v)
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`
  if (a >= 100 || a === 0) return `${Math.round(v)}`
  if (a >= 1) return `${+v.toFixed(2)}`
  return `${+v.toPrecision(2)}`
}

/** Grafana's legendFormat: `{{label}}` replaced by the series' label value. */
export function legendOf (format: string | undefined, metric: Record<string, string>): string {
  if (!format) return `{${Object.entries(metric).map(([k, v]) => `${k}="${v}"`).join(', ')}}`
  return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_m, name: string) => metric[name] ?? '')
}

/** A value in the panel's unit, as Grafana names them. */
export function formatValue (v: number, unit = 'short'): string {
  switch (unit) {
    case 's':
      if (Math.abs(v) >= 1 || v === 0) return `${number(v)} s`
      return Math.abs(v) >= 0.001 ? `${number(v * 1000)} ms` : `${number(v * 1e6)} µs`
    case 'percentunit': return `${number(v * 100)}%`
    case 'reqps': return `${number(v)} req/s`
    case 'ops': return `${number(v)}/s`
    default: return number(v)
  }
}

/** About `count` round steps over [lo, hi]. */
function ticks (lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12))
  return out
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16)

function chart (data: PanelData, w: number, h: number, opts: PageOptions): string {
  const unit = data.panel.fieldConfig?.defaults?.unit
  const pad = { l: 64, r: 12, t: 8, b: 22 }
  const values = data.series.flatMap((s) => s.points.map(([, v]) => v))
  const fixed = data.panel.fieldConfig?.defaults ?? {}
  let lo = fixed.min ?? Math.min(0, ...values)
  let hi = fixed.max ?? (values.length ? Math.max(...values, lo + 1e-9) : lo + 1)
  if (fixed.max === undefined) hi = hi + (hi - lo) * 0.08
  if (hi - lo < 1e-12) { lo -= 1; hi += 1 }
  const x = (t: number) => pad.l + (t - opts.start) / (opts.end - opts.start) * (w - pad.l - pad.r)
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (h - pad.t - pad.b)
  const parts: string[] = []
  for (const v of ticks(lo, hi, 4)) {
    parts.push(`<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`,
      `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${esc(formatValue(v, unit))}</text>`)
  }
  const minutes = (opts.end - opts.start) / 60_000
  const every = [1, 2, 5, 10, 15, 30, 60].find((m) => minutes / m <= Math.max(2, (w - pad.l) / 90)) ?? 60
  for (let t = Math.ceil(opts.start / (every * 60_000)) * every * 60_000; t <= opts.end; t += every * 60_000) {
    parts.push(`<text x="${x(t)}" y="${h - 6}" text-anchor="middle">${clock(t)}</text>`)
  }
  data.series.forEach((s, i) => {
    // A gap (no sample, or NaN as histogram_quantile gives over no observations) breaks the line.
    let d = ''
    const step = Math.min(...s.points.slice(1).map(([t], j) => t - s.points[j]![0]), Infinity)
    s.points.forEach(([t, v], j) => {
      const gap = j === 0 || t - s.points[j - 1]![0] > step * 1.5
      d += `${gap ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`
    })
    parts.push(`<path d="${d}" stroke="${PALETTE[i % PALETTE.length]}" class="line"/>`)
  })
  if (data.series.length === 0) {
    parts.push(`<text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="nodata">` +
      `${data.errors.length ? esc(data.errors.join('; ')) : 'No data'}</text>`)
  }
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${parts.join('')}</svg>`
}

/** Each series' name and its highest value over the window (Grafana's legend calculation "Max"). */
function legend (series: Series[], unit?: string): string {
  const items = series.slice(0, MAX_LEGEND).map((s, i) => {
    const max = Math.max(...s.points.map(([, v]) => v))
    return `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.legend)}` +
      ` <b>max ${esc(formatValue(max, unit))}</b></span>`
  })
  if (series.length > MAX_LEGEND) items.push(`<span>+${series.length - MAX_LEGEND} more</span>`)
  return `<div class="legend">${items.join('')}</div>`
}

/** The page: a header that says what this is, then every row and panel at its grid position. */
export function renderPage (dashboard: Dashboard, panels: PanelData[], rows: Panel[], opts: PageOptions): string {
  const col = opts.width / 24
  const box = (g: Panel['gridPos']) =>
    `left:${g.x * col}px;top:${g.y * ROW_UNIT_PX}px;width:${g.w * col - 8}px;height:${g.h * ROW_UNIT_PX - 8}px`
  const bottom = Math.max(...[...panels.map((p) => p.panel), ...rows].map((p) => p.gridPos.y + p.gridPos.h))
  const html = [
    ...rows.map((r) => `<div class="row" style="${box(r.gridPos)}">${esc(r.title)}</div>`),
    ...panels.map((p) => {
      const g = p.panel.gridPos
      const w = g.w * col - 8
      const legendLines = Math.min(2, Math.ceil(Math.min(p.series.length, MAX_LEGEND + 1) / Math.max(1, g.w / 4)))
      const h = g.h * ROW_UNIT_PX - 8 - 30 - legendLines * 18
      return `<div class="panel" style="${box(g)}"><div class="title">${esc(p.panel.title)}</div>` +
        `${chart(p, w - 2, Math.max(60, h), opts)}${legend(p.series, p.panel.fieldConfig?.defaults?.unit)}</div>`
    }),
  ].join('\n')
  const range = `${new Date(opts.start).toISOString().replace('T', ' ').slice(0, 19)} – ` +
    `${new Date(opts.end).toISOString().slice(11, 19)} UTC`
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#111217;color:#ccccdc;font:12px -apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{padding:12px 16px 4px}header h1{font-size:18px;margin:0 0 4px;color:#fff}header p{margin:0;color:#8e8e9e}
main{position:relative;margin:8px 12px 12px;width:${opts.width}px;height:${bottom * ROW_UNIT_PX}px}
.row{position:absolute;font-size:14px;font-weight:600;color:#d8d9da;padding-top:6px}
.panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:3px;overflow:hidden}
.title{font-weight:600;color:#d8d9da;padding:6px 8px 4px;height:20px;white-space:nowrap;overflow:hidden}
svg text{fill:#8e8e9e;font-size:10px}.grid{stroke:#2c3235;stroke-width:1}
.line{fill:none;stroke-width:1.5}.nodata{font-size:13px;fill:#6e6e7e}
.legend{padding:0 8px;line-height:18px;max-height:36px;overflow:hidden}
.legend span{margin-right:12px;white-space:nowrap}.legend i{display:inline-block;width:12px;height:3px;
margin:0 5px 3px 0;vertical-align:middle}.legend b{color:#d8d9da;font-weight:500}
</style></head><body><header><h1>${esc(dashboard.title)}</h1><p>${esc(range)} · ${esc(opts.note)}</p></header>
<main>${html}</main></body></html>`
}
