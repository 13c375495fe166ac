import t from 'tap'
import type { IncomingHttpHeaders } from 'node:http'
import { stripClientHeaders } from '../../src/pipeline/strip-headers.js'
import { outgoingHeaders, withoutAuthCookies } from '../../src/pipeline/mutate.js'

t.test('stripClientHeaders', async (t) => {
  const headers: IncomingHttpHeaders = {
    host: 'gw',
    'x-user-id': 'a, b',
    'x-user-roles': 'admin',
    x_user_id: 'c',
    'x-user-anything': 'd',
    'x-session-id': 'e',
    x_session_id: 'f',
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-host': 'evil',
    forwarded: 'for=6.6.6.6',
    'x-real-ip': '6.6.6.6',
    connection: 'x-custom, keep-alive',
    'x-custom': 'listed in Connection',
    'keep-alive': 'timeout=5',
    'x-session-idx': 'not an identity header',
    accept: 'application/json',
    'content-length': '3',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    tracestate: 'a=1',
  }
  stripClientHeaders(headers)
  t.same(Object.keys(headers).sort(),
    ['accept', 'connection', 'content-length', 'host', 'traceparent', 'tracestate', 'x-session-idx'],
    'the trace context stays: the request span continues it (services/kernel/tracing.ts)')
})

t.test('outgoingHeaders: with tracing off, the client\'s trace context passes as any header', async (t) => {
  const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'a=1' }
  const ctx = { identity: null, requestId: 'r1', clientIp: '10.0.0.1', protocol: 'http', forwardCredentials: false }
  t.match(outgoingHeaders({ ...trace }, ctx), trace)
})

t.test('stripClientHeaders: the usual Connection values, and names in any case', async (t) => {
  const close: IncomingHttpHeaders = {
    connection: 'close',
    close: 'x',
    accept: '*/*',
    'X-User-Id': 'evil',
    X_Forwarded_For: '6.6.6.6',
    'Keep-Alive': '5',
    te: 'trailers',
    'user-agent': 'ua',
  } as IncomingHttpHeaders
  stripClientHeaders(close)
  t.same(Object.keys(close).sort(), ['accept', 'connection', 'user-agent'])
  const keepAlive: IncomingHttpHeaders = {
    connection: 'keep-alive', 'keep-alive': 'timeout=5', keep_alive: 'x', host: 'gw'
  }
  stripClientHeaders(keepAlive)
  t.same(Object.keys(keepAlive).sort(), ['connection', 'host'])
  const listed: IncomingHttpHeaders = {
    connection: 'Keep-Alive, X-Custom', 'x-custom': '1', 'content-length': '3', host: 'gw'
  }
  stripClientHeaders(listed)
  t.same(
    Object.keys(listed).sort(),
    ['connection', 'content-length', 'host'],
    'listed names go, whatever their case; content-length stays'
  )
})

t.test('withoutAuthCookies keeps other cookies', async (t) => {
  t.equal(withoutAuthCookies('a=1; access_token=x; refresh_token=y; csrf_token=z; b=2'), 'a=1; b=2')
  t.equal(withoutAuthCookies('access_token=x'), undefined)
  t.equal(withoutAuthCookies(undefined), undefined)
  t.equal(withoutAuthCookies('access_token_extra=1'), 'access_token_extra=1', 'exact names only')
})

t.test('outgoingHeaders writes identity only from the verified identity', async (t) => {
  const incoming: IncomingHttpHeaders = {
    authorization: 'Bearer t',
    cookie: 'access_token=t; a=1',
    'x-user-id': 'evil',
    X_User_Roles: 'admin',
  } as IncomingHttpHeaders
  const ctx = {
    identity: { subject: 'u1', roles: ['user', 'admin'], session: 's1' },
    requestId: 'r1',
    clientIp: '10.0.0.1',
    protocol: 'http',
    forwardCredentials: false,
  }
  const out = outgoingHeaders({ ...incoming }, ctx)
  t.same(out, {
    cookie: 'a=1',
    'x-forwarded-for': '10.0.0.1',
    'x-forwarded-proto': 'http',
    'x-request-id': 'r1',
    'x-user-id': 'u1',
    'x-user-roles': 'user,admin',
    'x-session-id': 's1',
  })
  t.equal(incoming['x-user-id'], 'evil', 'the incoming object is not modified')
  const anon = outgoingHeaders({ ...incoming }, { ...ctx, identity: null, forwardCredentials: true })
  t.equal(anon['x-user-id'], undefined)
  t.equal(anon.authorization, 'Bearer t', 'forwardCredentials keeps Authorization')
  t.equal(anon.cookie, 'access_token=t; a=1', 'and the cookies')
})

t.test('outgoingHeaders: the DPoP proof goes only where credentials go; x-forwarded-host is the Host', async (t) => {
  const incoming = { authorization: 'DPoP t', dpop: 'proof', 'x-forwarded-host': 'evil.example' } as IncomingHttpHeaders
  const ctx = { identity: null, requestId: 'r1', clientIp: '10.0.0.1', protocol: 'https', host: 'api.example.com' }
  const service = outgoingHeaders({ ...incoming }, { ...ctx, forwardCredentials: false })
  t.equal(service.dpop, undefined, 'a business service never sees the proof')
  t.equal(service.authorization, undefined)
  t.equal(service['x-forwarded-host'], 'api.example.com', 'the Host, not a sent x-forwarded-host')
  const auth = outgoingHeaders({ ...incoming }, { ...ctx, forwardCredentials: true })
  t.equal(auth.dpop, 'proof', 'the auth service gets the proof')
  t.equal(outgoingHeaders({}, { ...ctx, host: undefined, forwardCredentials: true })['x-forwarded-host'], undefined)
})
