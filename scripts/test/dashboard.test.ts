/**
 * The Grafana dashboard (ops/grafana/dashboards/jwt-edge.json) against the apps: the file is a
 * dashboard Grafana provisions (datasource variable on every query, unique ids, titles, grid),
 * it has a panel for each topic issue 15 names, and every series its PromQL names is one the
 * real processes export — the gateway (compiled, as npm start runs it), the auth service and
 * the orders service as processes, a little traffic through the gateway (register, login, a
 * failed login, proxied calls, a denied token, a missing role, refresh, reuse, logout, a
 * WebSocket upgrade) so that label-bearing series exist, then both /metrics scraped.
 */
import t from 'tap'
import http from 'node:http'
import { randomBytes } from 'node:crypto'
import type { Duplex } from 'node:stream'
import { dashboardProblems, loadDashboard, queryPanels, type Dashboard } from '../dashboard/dashboard.js'
import { seriesOf, type SeriesRef } from '../dashboard/promql.js'
import { freePort } from '../testing/ports.js'
import { call } from '../testing/node-process.js'
import { useTestRedis } from '../testing/redis.js'
import { PASSWORD, jsonPost, registerUser, withBearer } from '../testing/stack.js'
import { sleep } from '../testing/wait.js'
import { startAuth, startGatewayProcess, startOrders, tempKeysDir } from './drills/helpers.js'

/** The series of the dashboard's "Open sockets" panels (gateway/src/live/). */
const LIVE_SERIES = [
  'gateway_live_connections',
  'gateway_live_connection_closes_total',
  'gateway_websocket_upgrade_refusals_total',
] as const

/** Prometheus text: each family's type, and the label names seen on each sample name. */
interface Scrape { types: Map<string, string>, samples: Map<string, Set<string>> }

function parseExposition (text: string, into: Scrape = { types: new Map(), samples: new Map() }): Scrape {
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) into.types.set(type[1]!, type[2]!)
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels = into.samples.get(m[1]!) ?? new Set<string>()
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) labels.add(l[1]!)
    into.samples.set(m[1]!, labels)
  }
  return into
}

/** The family a sample name belongs to: itself, or a histogram's (summary's) `_bucket`, `_sum`, `_count`. */
function familyOf (name: string, scrape: Scrape): string | undefined {
  if (scrape.types.has(name)) return name
  const m = /^(.+)_(bucket|sum|count)$/.exec(name)
  const type = m ? scrape.types.get(m[1]!) : undefined
  if (type === 'histogram' || (type === 'summary' && m![2] !== 'bucket')) return m![1]
  return undefined
}

/** Every selector of every query, with where it is written. */
function dashboardRefs (d: Dashboard): Array<SeriesRef & { at: string }> {
  return queryPanels(d).flatMap((p) => (p.targets ?? []).flatMap((target) =>
    seriesOf(target.expr).map((ref) => ({ ...ref, at: `"${p.title}" ${target.refId}` }))))
}

interface Upgraded { status: number, socket?: Duplex }

/** A WebSocket upgrade request with node:http: 101 and the socket, or the status it was refused with (0: none). */
async function upgrade (url: string, headers: Record<string, string> = {}): Promise<Upgraded> {
  return await new Promise((resolve) => {
    const req = http.request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
      signal: AbortSignal.timeout(5000),
    })
    req.on('upgrade', (_res, socket) => resolve({ status: 101, socket }))
    req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode ?? 0 }) })
    req.on('error', () => resolve({ status: 0 }))
    req.end()
  })
}

const dashboard = loadDashboard()

t.test('the file is a dashboard Grafana provisions', async (t) => {
  t.same(dashboardProblems(dashboard), [], 'datasource variable on every query, unique ids, titles, grid')
  const broken = structuredClone(dashboard)
  const [first, second] = queryPanels(broken)
  second!.id = first!.id
  first!.datasource = { type: 'prometheus', uid: 'P1809F7CD0C75ACF3' }
  broken.templating.list = []
  const found = dashboardProblems(broken).join('\n')
  t.match(found, /no "datasource" variable/, 'the check finds a missing datasource variable')
  t.match(found, /datasource is not \$\{datasource\}/, 'a fixed datasource')
  t.match(found, /id also used by/, 'a reused id')
})

t.test('a panel for every topic of issue 15', async (t) => {
  const topics: Array<[string, RegExp]> = [
    ['request rate by route', /gateway_requests_total/],
    ['latency by route', /gateway_request_duration_seconds_bucket/],
    ['denials by reason', /gateway_token_verifications_total\{outcome="denied"\}/],
    ['JWKS age per provider', /max by \(provider\) \(gateway_provider_jwks_age_seconds\)/],
    ['token cache hit ratio', /gateway_token_cache_hits_total.*gateway_token_cache_misses_total/],
    ['revocation lag', /gateway_revocation_lag_seconds_bucket/],
    ['rate-limit refusals', /status="429"/],
    ['refresh and reuse rates', /auth_refreshes_total[\s\S]*auth_refresh_reuse_detected_total/],
    ['login failures', /auth_logins_total/],
    ['open sockets', /gateway_live_connections\b/],
  ]
  const panels = queryPanels(dashboard)
    .map((p) => ({ title: p.title, exprs: p.targets!.map((x) => x.expr).join('\n') }))
  for (const [topic, pattern] of topics) {
    const panel = panels.find((p) => pattern.test(p.exprs))
    t.ok(panel, `${topic}: ${panel ? `"${panel.title}"` : `no query matches ${pattern}`}`)
  }
})

t.test('seriesOf reads the selectors of a PromQL expression', async (t) => {
  const cases: Array<{ d: string, expr: string, want: SeriesRef[] }> = [
    { d: 'a bare name', expr: 'gateway_jwks_keys', want: [{ name: 'gateway_jwks_keys', labels: [] }] },
    {
      d: 'matchers give their label names; the range and the aggregation\'s label list are no series',
      expr: 'sum by (route, le) (rate(x_bucket{status=~"4..", route!="a,b}"}[$__rate_interval]))',
      want: [{ name: 'x_bucket', labels: ['status', 'route'] }],
    },
    {
      d: 'functions, numbers, binary operators with on()/group_left() and offset',
      expr: 'histogram_quantile(0.99, a) / on (kid) group_left (x) b offset 5m > bool 1e3 and c or d unless e',
      want: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, labels: [] })),
    },
    {
      d: 'a selector by __name__',
      expr: 'count({__name__="auth_logins_total", result="failure"})',
      want: [{ name: 'auth_logins_total', labels: ['result'] }],
    },
    {
      d: 'label values that look like names are not names',
      expr: 'sum without (instance) (x{reason="token_expired"}) * y',
      want: [{ name: 'x', labels: ['reason'] }, { name: 'y', labels: [] }],
    },
  ]
  for (const c of cases) t.same(seriesOf(c.expr), c.want, c.d)
  t.throws(() => seriesOf('x{a="1"'), /bad label matcher/, 'an unclosed selector is an error, not a guess')
})

t.test('every series the dashboard names is exported by the real gateway and auth service', async (t) => {
  const r = await useTestRedis(t)
  const redis = { url: r.url, prefix: r.prefix }
  const auth = await startAuth(t, {
    redis, keysDir: tempKeysDir(t), port: await freePort(), env: { REFRESH_REUSE_GRACE: '0' },
  })
  const orders = await startOrders(t, await freePort())
  const gw = await startGatewayProcess(t, { redis, upstreams: { auth: auth.url, orders: orders.url } })
  t.teardown(() => Promise.all([gw.stop(), orders.stop(), auth.stop()]))
  const base = gw.url

  const user = await registerUser(base, 'dashboard')
  const login = async (password: string) =>
    await call(`${base}/auth/login`, jsonPost({ email: user.email, password, tokenDelivery: 'body' }))
  t.equal((await login(PASSWORD)).status, 200, 'login')
  t.equal((await login(`${PASSWORD} not`)).status, 401, 'a failed login')
  const bearer = withBearer(user.accessToken)
  t.equal((await call(`${base}/api/orders`, bearer)).status, 200, 'a proxied request')
  t.equal((await call(`${base}/api/orders`, bearer)).status, 200, 'again (token cache hit)')
  t.equal((await call(`${base}/api/orders`, withBearer('not.a.token'))).status, 401, 'a denied token')
  t.equal((await call(`${base}/api/orders/x`, { ...bearer, method: 'DELETE' })).status, 403, 'a missing role')
  const refreshed = await call(`${base}/auth/refresh`, jsonPost({ refreshToken: user.refreshToken }))
  t.equal(refreshed.status, 200, 'a refresh')
  t.equal((await call(`${base}/auth/refresh`, jsonPost({ refreshToken: user.refreshToken }))).status, 401,
    'the rotated refresh token again: reuse, the session revoked')
  const again = (await login(PASSWORD)).json as { accessToken: string }
  t.equal((await call(`${base}/auth/logout`, { ...withBearer(again.accessToken), method: 'POST' })).status, 204,
    'a logout (a revocation message to the gateway)')
  // Sockets: a refused upgrade, and one opened and closed by the client.
  const refused = await upgrade(`${base}/api/orders/live`)
  t.equal(refused.status, 401, 'an upgrade without a token is refused')
  const fresh = (await login(PASSWORD)).json as { accessToken: string }
  const live = await upgrade(`${base}/api/orders/live`, { authorization: `Bearer ${fresh.accessToken}` })
  t.equal(live.status, 101, 'an upgrade with a token is accepted')
  await sleep(200)
  live.socket?.destroy()

  const refs = dashboardRefs(dashboard)
  const scrapeBoth = async () => {
    const scrape: Scrape = { types: new Map(), samples: new Map() }
    for (const url of [`${base}/metrics`, `${auth.url}/metrics`]) {
      const res = await fetch(url)
      t.equal(res.status, 200, `GET ${url}`)
      parseExposition(await res.text(), scrape)
    }
    return scrape
  }
  // Some series follow the traffic asynchronously (revocation messages, socket closes): scrape until stable.
  let scrape = await scrapeBoth()
  for (let i = 0; i < 20 && refs.some((ref) => !scrape.samples.has(ref.name)); i++) {
    await sleep(250)
    scrape = await scrapeBoth()
  }

  const names = new Set(refs.map((ref) => ref.name))
  t.ok(names.size >= 15, `the dashboard names ${names.size} series`)
  for (const ref of refs) {
    const family = familyOf(ref.name, scrape)
    t.ok(family, `${ref.at}: ${ref.name} is exported${family && family !== ref.name ? ` (histogram ${family})` : ''}`)
    t.ok(scrape.samples.has(ref.name), `${ref.at}: ${ref.name} has samples`)
    const labels = scrape.samples.get(ref.name) ?? new Set()
    for (const label of ref.labels) t.ok(labels.has(label), `${ref.at}: ${ref.name} has label ${label}`)
  }
  for (const name of LIVE_SERIES) {
    t.ok(names.has(name), `the dashboard uses ${name} (open sockets)`)
  }
})
