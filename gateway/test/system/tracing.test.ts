/**
 * Tracing across real processes (CONTRACT "Tracing"): the compiled gateway, the auth service and
 * the orders service export to a local OTLP/HTTP receiver; a gateway with tracing off and one
 * with propagation only forward to an echo upstream.
 *
 * - a call through gateway → orders and a login through gateway → auth are one trace each, with
 *   each server span's parent the gateway's forwarding span
 * - a client's traceparent is continued (same trace, the gateway's span its child) and never
 *   reaches an upstream unchanged; its tracestate goes on
 * - a WebSocket upgrade: the gateway's and the orders service's request spans end at the
 *   handshake (101), the orders one a child of the gateway's
 * - authenticate spans carry the denial reason; no token is in anything exported
 * - JWKS fetches, the auth service's Redis commands and argon2 are spans of their traces
 * - log lines carry trace_id; with OTEL_EXPORTER_OTLP_ENDPOINT unset nothing is exported
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import WebSocket from 'ws'
import { startAuth, startGatewayProcess, tempKeysDir } from '../../../scripts/test/drills/helpers.js'
import { startEchoUpstream } from '../../../scripts/testing/http.js'
import { call, startNode } from '../../../scripts/testing/node-process.js'
import { SPAN_KIND, startOtlpReceiver, type ReceivedSpan } from '../../../scripts/testing/otlp.js'
import { freePort } from '../../../scripts/testing/ports.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { PASSWORD, jsonPost, registerUser, withBearer } from '../../../scripts/testing/stack.js'
import { waitFor } from '../../../scripts/testing/wait.js'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$/

t.test('traces across gateway, auth service and orders', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  // Batches every 100 ms, so the test waits for spans, not for the SDK's 5 s default.
  const otel = (service: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: service, OTEL_BSP_SCHEDULE_DELAY: '100',
  })
  const r = await useTestRedis(t)
  const redis = { url: r.url, prefix: r.prefix }
  const auth = await startAuth(t, { redis, keysDir: tempKeysDir(t), port: await freePort(), env: otel('auth-service') })
  const orders = await startNode(t, {
    name: 'orders',
    entry: 'services/orders/src/server.ts',
    env: { ORDERS_PORT: String(await freePort()), ...otel('orders') },
  })
  const echo = await startEchoUpstream(t, 'users')
  const gw = await startGatewayProcess(t, {
    redis, upstreams: { auth: auth.url, orders: orders.url, users: echo.url }, env: otel('gateway'),
  })
  const spans = receiver.spans
  /** Waits for the first span `pick` matches. */
  async function spanWhere (pick: (s: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan> {
    await waitFor(() => spans.some(pick), 10_000, what)
    return spans.find(pick)!
  }
  /** Waits until the spans of `traceId` include one matching each predicate; returns them all. */
  async function traceOf (traceId: string, ...wanted: Array<(s: ReceivedSpan) => boolean>): Promise<ReceivedSpan[]> {
    const of = () => spans.filter((s) => s.traceId === traceId)
    await waitFor(() => wanted.every((w) => of().some(w)), 10_000, `the spans of trace ${traceId}`)
    return of()
  }
  const is = (service: string, kind: number, name?: string) => (s: ReceivedSpan) =>
    s.service === service && s.kind === kind && (name === undefined || s.name === name)
  const requestSpan = (path: string) => (s: ReceivedSpan) =>
    is('gateway', SPAN_KIND.server)(s) && s.attributes['url.path'] === path
  const one = (list: ReceivedSpan[], pick: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
    const found = list.filter(pick)
    if (found.length !== 1) throw new Error(`${what}: ${found.length} spans (${JSON.stringify(list, null, 1)})`)
    return found[0]!
  }

  const user = await registerUser(gw.url, 'tracing')

  await t.test('GET /api/orders: gateway → orders, one trace, the orders span a child of the forwarding span',
    async (t) => {
      const res = await call(`${gw.url}/api/orders`, withBearer(user.accessToken))
      t.equal(res.status, 200)
      const gwServer = await spanWhere(requestSpan('/api/orders'), 'the gateway\'s span of GET /api/orders')
      t.equal(gwServer.parentSpanId, '', 'no client traceparent: the gateway starts the trace')
      const trace = await traceOf(gwServer.traceId, is('orders', SPAN_KIND.server), is('gateway', SPAN_KIND.client),
        is('gateway', SPAN_KIND.internal, 'authenticate'))
      const forward = one(trace, is('gateway', SPAN_KIND.client), 'the forwarding span')
      const ordersServer = one(trace, is('orders', SPAN_KIND.server), 'the orders server span')
      const authn = one(trace, is('gateway', SPAN_KIND.internal, 'authenticate'), 'the authenticate span')
      t.equal(forward.parentSpanId, gwServer.spanId, 'forwarding: a child of the gateway\'s request span')
      t.equal(ordersServer.parentSpanId, forward.spanId, 'orders: a child of the gateway\'s forwarding span')
      t.equal(authn.parentSpanId, gwServer.spanId, 'authenticate: a child of the request span')
      t.match(authn.attributes, { 'gateway.route': 'orders', 'gateway.auth.outcome': 'authenticated' })
      t.equal(forward.attributes['url.full'], `${orders.url}/orders`)
      const line = orders.logs().find((l) => l.msg === 'request completed' && l.trace_id === gwServer.traceId)
      t.ok(line, 'the orders service\'s log line carries the trace id')
      t.equal(line?.span_id, ordersServer.spanId, 'and its span id')
      // The gateway's log is buffered (flushed every 250 ms).
      const gwLine = () => gw.logs().find((l) => l.msg === 'request completed' && l.trace_id === gwServer.traceId)
      await waitFor(() => gwLine() !== undefined, 5000, 'the gateway\'s log line')
      t.match(gwLine(), { url: '/api/orders', span_id: gwServer.spanId }, 'so does the gateway\'s')
    })

  await t.test('POST /auth/login: gateway → auth service, with argon2 and Redis spans in the same trace', async (t) => {
    const login = await call(`${gw.url}/auth/login`, jsonPost({ email: user.email, password: PASSWORD }))
    t.equal(login.status, 200)
    const gwServer = await spanWhere(requestSpan('/auth/login'), 'the gateway\'s span of POST /auth/login')
    const trace = await traceOf(gwServer.traceId, is('auth-service', SPAN_KIND.server),
      is('auth-service', SPAN_KIND.internal, 'argon2 verify'), is('auth-service', SPAN_KIND.client))
    const forward = one(trace, is('gateway', SPAN_KIND.client), 'the forwarding span')
    const authServer = one(trace, is('auth-service', SPAN_KIND.server), 'the auth service\'s server span')
    t.equal(forward.parentSpanId, gwServer.spanId)
    t.equal(authServer.parentSpanId, forward.spanId, 'the auth service\'s span: a child of the forwarding span')
    t.equal(authServer.name, 'POST /auth/login')
    const argon = one(trace, is('auth-service', SPAN_KIND.internal, 'argon2 verify'), 'argon2 verify')
    t.equal(argon.parentSpanId, authServer.spanId, 'argon2 verify: a child of the login request')
    const redisSpans = trace.filter((s) => s.service === 'auth-service' && s.attributes['db.system.name'] === 'redis')
    t.ok(redisSpans.length > 0, `${redisSpans.length} Redis command spans in the login's trace`)
    t.ok(redisSpans.every((s) => s.parentSpanId === authServer.spanId && s.attributes['db.query.text'] === s.name),
      'a Redis span names the command only (no keys, no arguments)')
    t.notOk(trace.some(is('gateway', SPAN_KIND.internal, 'authenticate')), 'no authenticate span (auth: none)')
  })

  await t.test('a client traceparent is continued; the upstream gets the gateway\'s span, never the client\'s',
    async (t) => {
      const [clientTrace, clientSpan] = [hex(16), hex(8)]
      const res = await call(`${gw.url}/api/users/me`, {
        headers: {
          authorization: `Bearer ${user.accessToken}`,
          traceparent: `00-${clientTrace}-${clientSpan}-01`,
          tracestate: 'client=t61rcWkgMzE',
        },
      })
      t.equal(res.status, 200)
      const sent = res.json.headers as Record<string, string>
      const m = TRACEPARENT.exec(sent.traceparent ?? '')
      t.ok(m, `one well-formed traceparent upstream (${sent.traceparent})`)
      t.equal(m?.[1], clientTrace, 'the client\'s trace goes on')
      t.not(m?.[2], clientSpan, 'with another parent span than the client\'s')
      t.equal(m?.[3], '1', 'sampled, as the client asked')
      t.equal(sent.tracestate, 'client=t61rcWkgMzE', 'tracestate passed on')
      const trace = await traceOf(clientTrace, is('gateway', SPAN_KIND.server), is('gateway', SPAN_KIND.client))
      const gwServer = one(trace, is('gateway', SPAN_KIND.server), 'the gateway\'s request span')
      const forward = one(trace, is('gateway', SPAN_KIND.client), 'the forwarding span')
      t.equal(gwServer.parentSpanId, clientSpan, 'the gateway\'s span: a child of the client\'s')
      t.equal(m?.[2], forward.spanId, 'the upstream\'s parent: the gateway\'s forwarding span')
      t.equal(forward.traceState, 'client=t61rcWkgMzE')

      const ordersTrace = hex(16)
      const withOrders = await call(`${gw.url}/api/orders`, {
        headers: { authorization: `Bearer ${user.accessToken}`, traceparent: `00-${ordersTrace}-${clientSpan}-01` },
      })
      t.equal(withOrders.status, 200)
      // A kept-alive upstream connection answers in its own async context: the line must still name this request's.
      await waitFor(() => gw.logs().some((l) => l.msg === 'request completed' && l.trace_id === ordersTrace), 5000,
        'the log line of the second call to orders, with its own trace id')
      const ordersServer = spans.filter((s) => s.service === 'orders' && s.parentSpanId === clientSpan)
      t.same(ordersServer, [], 'no orders span has the client\'s span as parent')
    })

  await t.test('a 401: the authenticate span has the denial reason; no token anywhere in what was exported',
    async (t) => {
      const [payload] = user.accessToken.split('.').slice(1)
      const forged = `${user.accessToken.split('.')[0]}.${payload}.${'A'.repeat(342)}`
      const traceId = hex(16)
      const res = await call(`${gw.url}/api/orders`, {
        headers: { authorization: `Bearer ${forged}`, traceparent: `00-${traceId}-${hex(8)}-01` },
      })
      t.equal(res.status, 401)
      const trace = await traceOf(traceId, is('gateway', SPAN_KIND.internal, 'authenticate'),
        is('gateway', SPAN_KIND.server))
      const authn = one(trace, is('gateway', SPAN_KIND.internal, 'authenticate'), 'the authenticate span')
      t.match(authn.attributes, { 'gateway.auth.outcome': 'denied', 'gateway.auth.denial_reason': 'bad_signature' })
      t.notOk(trace.some((s) => s.kind === SPAN_KIND.client), 'nothing forwarded')
      await waitFor(() => gw.logs().some((l) => l.msg === 'request denied' && l.trace_id === traceId), 5000,
        'the denial\'s log line with the trace id')
      t.pass('the denial\'s log line carries the trace id')
      await waitFor(() => receiver.bodies.length > 0)
      const exported = receiver.bodies.join('\n')
      for (const secret of [user.accessToken, forged, payload!, user.refreshToken, PASSWORD]) {
        t.notOk(exported.includes(secret), `never exported: ${secret.slice(0, 12)}...`)
      }
    })

  await t.test('a WebSocket upgrade: each request span ends at its handshake (101), the trace goes upstream',
    async (t) => {
      const [clientTrace, clientSpan] = [hex(16), hex(8)]
      const socket = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/api/orders/live`, {
        headers: { authorization: `Bearer ${user.accessToken}`, traceparent: `00-${clientTrace}-${clientSpan}-01` },
      })
      await new Promise<void>((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
      t.teardown(() => socket.terminate())
      const trace = await traceOf(clientTrace, requestSpan('/api/orders/live'), is('orders', SPAN_KIND.server))
      const gwServer = one(trace, requestSpan('/api/orders/live'), 'the gateway\'s request span')
      const ordersServer = one(trace, is('orders', SPAN_KIND.server), 'the orders service\'s span of the upgrade')
      t.equal(gwServer.parentSpanId, clientSpan, 'the gateway\'s: a child of the client\'s span')
      t.equal(ordersServer.parentSpanId, gwServer.spanId, 'the orders service\'s: a child of the gateway\'s')
      t.equal(gwServer.attributes['http.response.status_code'], 101, 'ended at the handshake')
      t.equal(ordersServer.attributes['http.response.status_code'], 101)
      t.equal(socket.readyState, WebSocket.OPEN, 'while the socket stays open')
      const line = orders.logs().find((l) => l.msg === 'live feed opened' && l.trace_id === clientTrace)
      t.equal(line?.span_id, ordersServer.spanId, 'the orders service\'s log line names its span')
    })

  await t.test('JWKS fetches: the gateway\'s span, its HTTP call, and the auth service\'s answer in one trace',
    async (t) => {
      const fetchSpan = await spanWhere(is('gateway', SPAN_KIND.internal, 'jwks fetch'), 'a JWKS fetch span')
      t.match(fetchSpan.attributes, { 'jwks.result': 'ok', 'url.full': `${auth.url}/.well-known/jwks.json` })
      const trace = await traceOf(fetchSpan.traceId, is('gateway', SPAN_KIND.client),
        is('auth-service', SPAN_KIND.server))
      const client = one(trace, is('gateway', SPAN_KIND.client), 'the JWKS request')
      t.equal(client.parentSpanId, fetchSpan.spanId)
      t.equal(one(trace, is('auth-service', SPAN_KIND.server), 'the JWKS answer').parentSpanId, client.spanId)
    })
})

t.test('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT) exports nothing; propagation only exports nothing either',
  async (t) => {
    const receiver = await startOtlpReceiver()
    t.teardown(() => receiver.close())
    const r = await useTestRedis(t)
    const redis = { url: r.url, prefix: r.prefix }
    const auth = await startAuth(t, { redis, keysDir: tempKeysDir(t), port: await freePort() })
    const echo = await startEchoUpstream(t, 'users')
    // The exporter's own variable for the traces URL is set: only the SDK could use it, and it must not load.
    const tempting = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '50' }
    const upstreams = { auth: auth.url, users: echo.url }
    const [off, propagate] = await Promise.all([
      startGatewayProcess(t, { redis, upstreams, env: tempting }),
      startGatewayProcess(t, { redis, upstreams, env: { ...tempting, OTEL_TRACES_EXPORTER: 'none' } }),
    ])
    const user = await registerUser(off.url, 'tracing-off')
    const clientParent = `00-${hex(16)}-${hex(8)}-01`
    const me = async (base: string) => await call(`${base}/api/users/me`, {
      headers: { authorization: `Bearer ${user.accessToken}`, traceparent: clientParent },
    })

    const viaOff = await me(off.url)
    t.equal(viaOff.status, 200)
    t.equal(viaOff.json.headers.traceparent, clientParent, 'off: the client\'s traceparent passes like any header')
    t.notOk(off.logs().some((l) => 'trace_id' in l), 'off: no log line has a trace_id')

    const viaPropagate = await me(propagate.url)
    const m = TRACEPARENT.exec(viaPropagate.json.headers.traceparent ?? '')
    t.equal(m?.[1], clientParent.split('-')[1], 'propagation only: the client\'s trace goes on')
    t.not(m?.[2], clientParent.split('-')[2], 'with the gateway\'s span as parent')
    // The gateway's log is buffered (flushed every 250 ms).
    await waitFor(() => propagate.logs().some((l) => l.msg === 'request completed' && l.url === '/api/users/me'))
    t.ok(propagate.logs().some((l) => l.msg === 'request completed' && l.trace_id === m?.[1]),
      'propagation only: the log line carries the trace id')

    await new Promise((resolve) => setTimeout(resolve, 500))
    t.same(receiver.bodies, [], 'nothing was exported')
  })
