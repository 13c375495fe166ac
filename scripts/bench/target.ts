/**
 * One benchmark target as its own process (so its CPU time and RSS can be read from /proc):
 * dist/bench/target.js (this file compiled: scripts/start/bundle.ts) with BENCH_KIND and the
 * settings in the env, started by scripts/bench/index.ts with an IPC channel; it answers `{ port }` once
 * listening on 127.0.0.1, and `{ filled, size }` after a `{ fill: n }` message (gateway-rss).
 *
 * upstream        node:http, a small JSON for every path (and the bench JWKS)
 * bare-nolog      Fastify with its logger off + @fastify/http-proxy defaults: the bench's baseline
 * bare-log        the same with Fastify's logger at info (its default request logging: two lines
 *                 per request); `bare` is the old name of this one
 * gateway-noauth  buildGateway, the auth 'required' rules with auth 'none'
 * gateway         buildGateway, full pipeline (the gateway file: GATEWAY_CONFIG, default gateway/gateway.yaml);
 *                 BENCH_IDENTITY=both|headers|assertion sets every route's `identity` (what is sent
 *                 upstream: identity headers and/or the signed x-identity-token), else the file's;
 *                 tracing as the OTEL_* variables say (kernel tracing.ts; default off), as server.ts starts it
 * seed            express + jsonwebtoken + http-proxy-middleware (seed-stack.ts)
 */
import http from 'node:http'
import { writeFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import httpProxy from '@fastify/http-proxy'
import { buildGateway } from '../../gateway/src/app.js'
import { loadConfig } from '../../gateway/src/config.js'
import { startTracing } from '../../services/kernel/tracing.js'
import { DEFAULT_GATEWAY_FILE, loadGatewayFile } from '../../gateway/src/gateway-file/index.js'
import { createTokenCache } from '../../gateway/src/pipeline/token-cache.js'
import { checkClaims } from '../../gateway/src/pipeline/authenticate.js'
import { buildSeedStack } from './seed-stack.js'

const kind = process.env.BENCH_KIND ?? ''
/** {"alg":"RS256","kid":"bench","typ":"at+jwt"}, base64url. */
const BENCH_TOKEN_HEADER = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIiwidHlwIjoiYXQrand0In0'
const upstream = process.env.BENCH_UPSTREAM ?? ''
const send = (m: object) => process.send?.(m)

async function listen (server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

if (kind === 'upstream') {
  const body = JSON.stringify({ orders: [{ id: 'o-1', item: 'book', qty: 1 }] })
  const jwks = process.env.BENCH_JWKS ?? '{"keys":[]}'
  const server = http.createServer((req, res) => {
    const isJwks = req.url === '/.well-known/jwks.json'
    const answer = isJwks ? jwks : body
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) })
    res.end(answer)
  })
  server.keepAliveTimeout = 72_000
  send({ port: await listen(server) })
} else if (kind === 'bare-nolog' || kind === 'bare-log' || kind === 'bare') {
  const app = Fastify({ logger: kind === 'bare-nolog' ? false : { level: 'info' } })
  app.register(httpProxy, { upstream, prefix: '/api/orders', rewritePrefix: '/orders' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  send({ port: (app.server.address() as { port: number }).port })
} else if (kind === 'seed') {
  const server = buildSeedStack({
    upstream,
    publicKeyPem: process.env.BENCH_PUBLIC_PEM ?? '',
    issuer: process.env.JWT_ISSUER ?? 'urn:jwt-edge:auth',
    audience: process.env.JWT_AUDIENCE ?? 'urn:jwt-edge:api',
  })
  send({ port: await listen(server) })
} else if (kind === 'gateway' || kind === 'gateway-noauth') {
  const config = loadConfig({ ...process.env, GATEWAY_PORT: '0' })
  const loaded = await loadGatewayFile(process.env.GATEWAY_CONFIG || DEFAULT_GATEWAY_FILE, process.env)
  if (!loaded.ok) throw new Error(`gateway file:\n  - ${loaded.problems.join('\n  - ')}`)
  const { file } = loaded
  const open = { auth: 'none', roles: {}, rateLimit: null, csrf: 'none', providers: [] } as const
  const noAuth = kind === 'gateway-noauth'
  const identityMode = process.env.BENCH_IDENTITY
  if (identityMode !== undefined && !['both', 'headers', 'assertion'].includes(identityMode)) {
    throw new Error(`BENCH_IDENTITY must be both, headers or assertion (got "${identityMode}")`)
  }
  const routes = file.routes
    .map((r) => noAuth && r.auth === 'required' ? { ...r, ...open } : r)
    .map((r) => identityMode === undefined ? r : { ...r, identity: identityMode as typeof r.identity })
  const cache = createTokenCache({ maxEntries: config.tokenCacheMax, ttlMs: config.tokenCacheTtlMs })
  const tokenCache = config.tokenCacheMax > 0 ? { tokenCache: cache } : {}
  await startTracing(config.tracing)
  const app = buildGateway(config, { file: { ...file, routes }, ...tokenCache })
  await app.listen({ host: '127.0.0.1', port: 0 })
  send({ port: (app.server.address() as { port: number }).port })
  // RSS with a full cache: entries made the way verified tokens make them (payload text ->
  // JSON.parse -> checkClaims -> cache.set), without the signatures (signing 100k RS256
  // tokens would take minutes).
  process.on('message', (m: { fill?: number }) => {
    if (typeof m?.fill !== 'number') return
    const key = { type: 'public' } as unknown as Parameters<typeof cache.set>[1]['key']
    const now = Math.floor(Date.now() / 1000)
    for (let i = 0; i < m.fill; i++) {
      const ids = { sub: randomUUID(), sid: randomUUID(), jti: randomUUID() }
      const claims = { ...ids, roles: ['user'], iat: now, exp: now + 900 }
      const text = JSON.stringify({ iss: config.issuer, aud: config.audience, ...claims })
      const payload = Buffer.from(text).toString('base64url')
      const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      const { identity, exp } = checkClaims(parsed, now, config.clockToleranceS)
      cache.set(`${BENCH_TOKEN_HEADER}.${payload}.${'s'.repeat(342)}`, { identity, iat: now, exp, key })
    }
    // A full GC first (the fill's own garbage is not the cache): what a settled gateway holds.
    setFlagsFromString('--expose-gc')
    ;(runInNewContext('gc') as () => void)()
    const mem = process.memoryUsage()
    send({ filled: m.fill, size: cache.size(), heapUsedMb: mem.heapUsed / 2 ** 20, rssMb: mem.rss / 2 ** 20 })
  })
} else {
  console.error(`unknown BENCH_KIND "${kind}"`)
  process.exit(2)
}

// BENCH_PROFILE_DIR (bench side): CPU profile of the measured window only, without start-up.
const { Session } = await import('node:inspector')
let session: InstanceType<typeof Session> | null = null
process.on('message', (m: { profile?: 'start' | 'stop', file?: string }) => {
  if (m?.profile === 'start') {
    session = new Session()
    session.connect()
    session.post('Profiler.enable', () => session?.post('Profiler.start', () => send({ profiling: true })))
  } else if (m?.profile === 'stop' && session) {
    session.post('Profiler.stop', (err, result) => {
      if (!err && m.file) writeFileSync(m.file, JSON.stringify(result.profile))
      session?.disconnect()
      send({ profiled: m.file })
    })
  }
})

process.on('disconnect', () => process.exit(0)) // the bench is gone: so are we
process.on('SIGTERM', () => process.exit(0)) // exit normally (so --cpu-prof can write its profile)
