/**
 * `npm run dashboard:render [-- --prometheus URL --minutes 10 --end ISO --step S --rate-interval 20s
 * --out docs/dashboard.png --html FILE]`: the Grafana dashboard's queries, evaluated by a running
 * Prometheus over a time window (its HTTP API, query_range), drawn as line charts on the
 * panels' grid and screenshotted with Chromium (playwright-core; CHROMIUM_PATH, default
 * /usr/bin/chromium). For where Grafana itself cannot run (README "Dashboard"): the queries
 * are the dashboard's, the pixels are this script's.
 *
 * - `$__rate_interval` as Grafana computes it: max(step + scrape interval, 4 × scrape interval),
 *   the scrape interval read from Prometheus' own configuration
 * - prints one line per panel (series found, or the query error); exits 1 when no panel has data
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { parse } from 'yaml'
import { parseArgs, positiveNumber } from '../bench/bench-lib.js'
import { legendOf, renderPage, type PanelData, type Series } from './chart.js'
import { allPanels, loadDashboard, queryPanels, type Target } from './dashboard.js'
import { expandVariables } from './promql.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const PAGE_WIDTH = 1600

interface QueryAnswer {
  status: string
  error?: string
  data?: { result: Array<{ metric: Record<string, string>, values: Array<[number, string]> }> }
}

interface Range { start: number, end: number, step: number }

async function queryRange (base: string, target: Target, expr: string, range: Range) {
  const url = new URL('/api/v1/query_range', base)
  url.search = new URLSearchParams({
    query: expr, start: String(range.start / 1000), end: String(range.end / 1000), step: String(range.step),
  }).toString()
  const answer = await fetch(url, { signal: AbortSignal.timeout(30_000) })
    .then(async (res) => await res.json() as QueryAnswer)
  if (answer.status !== 'success') return { series: [], error: `${target.refId}: ${answer.error ?? answer.status}` }
  const series: Series[] = (answer.data?.result ?? []).map((r) => ({
    legend: legendOf(target.legendFormat, r.metric),
    points: r.values.map(([t, v]) => [t * 1000, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v)),
  })).filter((s) => s.points.length > 0)
  return { series: series.sort((a, b) => a.legend.localeCompare(b.legend)) }
}

/** Prometheus' global scrape interval in seconds (15, its default, when it does not say). */
async function scrapeIntervalS (base: string): Promise<number> {
  const answer = await fetch(new URL('/api/v1/status/config', base), { signal: AbortSignal.timeout(10_000) })
    .then(async (res) => await res.json() as { data?: { yaml?: string } })
  const interval = String((parse(answer.data?.yaml ?? '') as { global?: { scrape_interval?: string } })
    ?.global?.scrape_interval ?? '15s')
  const m = /^(\d+)(ms|s|m)$/.exec(interval)
  return m ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2]!]! : 15
}

async function main (): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const base = args.get('prometheus') ?? process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090'
  const end = args.has('end') ? Date.parse(args.get('end')!) : Date.now()
  if (!Number.isFinite(end)) throw new Error(`--end: not a date: ${args.get('end')}`)
  const start = end - positiveNumber(args, 'minutes', 10) * 60_000
  const step = positiveNumber(args, 'step', Math.max(5, Math.round((end - start) / 1000 / 300)))
  const scrape = await scrapeIntervalS(base)
  const rateInterval = args.get('rate-interval') ?? `${Math.max(step + scrape, 4 * scrape)}s`
  const out = resolve(ROOT, args.get('out') ?? 'docs/dashboard.png')

  const dashboard = loadDashboard(args.get('dashboard'))
  const panels: PanelData[] = []
  for (const panel of queryPanels(dashboard)) {
    const data: PanelData = { panel, series: [], errors: [] }
    for (const target of panel.targets ?? []) {
      const expr = expandVariables(target.expr, { rateInterval, interval: `${step}s` })
      const { series, error } = await queryRange(base, target, expr, { start, end, step })
      data.series.push(...series)
      if (error) data.errors.push(error)
    }
    panels.push(data)
    const what = data.errors.length ? data.errors.join('; ') : `${data.series.length} series`
    console.log(`${panel.title.padEnd(40)} ${what}`)
  }
  const note = `${panels.length} panels of ${dashboard.title}.json: its PromQL evaluated by Prometheus ` +
    `(step ${step}s, $__rate_interval ${rateInterval}), drawn by scripts/dashboard/render.ts, not Grafana`
  const html = renderPage(dashboard, panels, allPanels(dashboard).filter((p) => p.type === 'row'),
    { start, end, width: PAGE_WIDTH, note })
  if (args.has('html')) writeFileSync(resolve(ROOT, args.get('html')!), html)

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  }).catch((err: Error) => {
    throw new Error(`Chromium did not start from ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH): ` +
      err.message.split('\n')[0])
  })
  try {
    const page = await browser.newPage({ viewport: { width: PAGE_WIDTH + 24, height: 900 }, deviceScaleFactor: 1 })
    await page.setContent(html, { waitUntil: 'load' })
    mkdirSync(dirname(out), { recursive: true })
    await page.screenshot({ path: out, fullPage: true })
  } finally {
    await browser.close()
  }
  const empty = panels.filter((p) => p.series.length === 0).length
  console.log(`wrote ${out} (${panels.length - empty} of ${panels.length} panels with data)`)
  return empty === panels.length ? 1 : 0
}

main().then((code) => { process.exitCode = code }, (err: Error) => {
  console.error(err.message)
  process.exitCode = 1
})
