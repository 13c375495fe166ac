/**
 * scripts/dashboard/chart.ts, what `npm run dashboard:render` draws (no Prometheus, no browser
 * here: the render itself is run by hand, README "Dashboard"): units as Grafana names them,
 * legends from legendFormat, one chart per panel at its grid position, "No data" for a panel
 * whose queries found nothing.
 */
import t from 'tap'
import { formatValue, legendOf, renderPage, type PanelData } from '../dashboard/chart.js'
import { allPanels, loadDashboard, queryPanels } from '../dashboard/dashboard.js'

t.test('values in the panel\'s unit', async (t) => {
  const cases: Array<[number, string | undefined, string]> = [
    [0.0042, 's', '4.2 ms'],
    [2.5, 's', '2.5 s'],
    [0.00005, 's', '50 µs'],
    [0.9995, 'percentunit', '99.95%'],
    [2600, 'reqps', '2.6k req/s'],
    [0.8, 'ops', '0.8/s'],
    [3, undefined, '3'],
  ]
  for (const [v, unit, want] of cases) t.equal(formatValue(v, unit), want, `${v} ${unit ?? '(no unit)'}`)
})

t.test('legends follow legendFormat', async (t) => {
  t.equal(legendOf('p99 {{route}}', { route: 'orders' }), 'p99 orders')
  t.equal(legendOf('{{ kind }} {{reason}}', { kind: 'websocket' }), 'websocket ', 'a missing label is empty')
  t.equal(legendOf(undefined, { a: '1', b: '2' }), '{a="1", b="2"}', 'no format: the label set')
})

t.test('one chart per panel, at its grid position; empty panels say so', async (t) => {
  const dashboard = loadDashboard()
  const panels: PanelData[] = queryPanels(dashboard).map((panel, i) => ({
    panel,
    series: i === 0 ? [{ legend: 'orders', points: [[1000, 1], [6000, 3], [11_000, 2]] }] : [],
    errors: i === 1 ? ['A: parse error'] : [],
  }))
  const rows = allPanels(dashboard).filter((p) => p.type === 'row')
  const html = renderPage(dashboard, panels, rows, { start: 0, end: 12_000, width: 1600, note: 'not Grafana' })
  t.equal(html.match(/<svg /g)?.length, panels.length, 'an svg per query panel')
  t.equal(html.match(/class="row"/g)?.length, rows.length, 'every row title')
  t.match(html, /<path d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+L/, 'the series is a line')
  t.match(html, /orders <b>max 3 req\/s<\/b>/, 'legend with the highest value')
  t.match(html, />A: parse error</, 'a query error is shown where the chart would be')
  t.equal(html.match(/>No data</g)?.length, panels.length - 2)
  const g = panels[0]!.panel.gridPos
  t.match(html, `left:${g.x * 1600 / 24}px;top:${g.y * 30}px`, 'placed by gridPos')
  t.match(html, 'not Grafana', 'the page says what it is')
})
