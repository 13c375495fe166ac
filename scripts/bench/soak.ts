/**
 * `npm run soak [-- --duration 300 --reads 300 --fresh 270]`: the gateway's memory under
 * token churn. The compiled gateway runs as its own process with a private redis-server;
 * every second `fresh` never-seen tokens (as a refresh storm mints them) and `reads` more
 * requests with recent ones go through it to a loopback upstream. Every 10 s it prints the
 * gateway's RSS and verified-token cache size; at the end, whether RSS levelled off
 * (the last third's peak within 10 % of the middle third's). Loopback only, bounded in time.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { GATEWAY_BUNDLE, bundle } from '../start/bundle.js'
import { startRedisServer } from '../local-redis/redis-server.js'
import { freePort } from '../local-redis/ports.js'
import { createSigner, signToken, startJwksServer } from '../testing/jwt.js'
import { fmt, formatTable, parseArgs, positiveNumber, rssMb } from './bench-lib.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const args = parseArgs(process.argv.slice(2))
const durationS = Math.round(positiveNumber(args, 'duration', 300))
const readsPerS = Math.round(positiveNumber(args, 'reads', 300))
const freshPerS = Math.round(positiveNumber(args, 'fresh', 270))
const SAMPLE_EVERY_S = 10

const cleanups: Array<() => unknown> = []
const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
const listen = (server: http.Server) => new Promise<number>((resolve) => {
  server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
})

const redis = await startRedisServer()
cleanups.push(() => redis.stop({ removeDir: true }))
const signer = await createSigner()
const jwks = await startJwksServer(teardown, [signer.jwk])
const upstream = http.createServer((_req, res) => {
  res.setHeader('content-type', 'application/json')
  res.end('{"ok":true}')
})
const upstreamUrl = `http://127.0.0.1:${await listen(upstream)}`
cleanups.push(() => upstream.close())
const gatewayPort = await freePort()

await bundle(root, GATEWAY_BUNDLE.entry, GATEWAY_BUNDLE.outfile)
const gateway = spawn(process.execPath, [...GATEWAY_BUNDLE.nodeArgs, GATEWAY_BUNDLE.outfile], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    PATH: process.env.PATH,
    GATEWAY_PORT: String(gatewayPort),
    REDIS_URL: redis.url,
    JWKS_URL: `${jwks.url}/.well-known/jwks.json`,
    AUTH_URL: upstreamUrl,
    ORDERS_URL: upstreamUrl,
    USERS_URL: upstreamUrl,
    PAYMENTS_URL: upstreamUrl,
    WEB_URL: upstreamUrl,
    CSRF_SECRET: randomBytes(32).toString('base64url'),
    RATE_LIMIT_API: '100000000',
    GATEWAY_REGISTRY_INTERVAL: '0',
    LOG_LEVEL: 'warn',
  },
})
cleanups.push(() => gateway.kill('SIGKILL'))
const base = `http://127.0.0.1:${gatewayPort}`
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })

function get (path: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {}
    http.get(`${base}${path}`, { agent, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    }).on('error', () => resolve(0))
  })
}

async function metric (name: string): Promise<number | null> {
  const text = await new Promise<string>((resolve) => {
    http.get(`${base}/metrics`, { agent }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve(body))
    }).on('error', () => resolve(''))
  })
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ')[1]) : null
}

try {
  for (let i = 0; i < 200 && await get('/readyz') !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const recent: string[] = []
  const rows: Array<Array<string | number>> = []
  const rss: number[] = []
  let failures = 0
  let sent = 0
  const started = performance.now()
  for (let second = 1; second <= durationS; second++) {
    const tick = performance.now()
    const fresh = await Promise.all(Array.from({ length: freshPerS }, (_, i) =>
      signToken(signer, { claims: { sub: `soak-${second}-${i}`, exp: Math.floor(Date.now() / 1000) + 900 } })))
    recent.push(...fresh)
    recent.splice(0, Math.max(0, recent.length - freshPerS * 5))
    const batch = [
      ...fresh.map((token) => get('/api/orders', token)),
      ...Array.from({ length: readsPerS }, () => get('/api/orders', recent[Math.floor(Math.random() * recent.length)])),
    ]
    const statuses = await Promise.all(batch)
    sent += statuses.length
    failures += statuses.filter((s) => s !== 200).length
    if (second % SAMPLE_EVERY_S === 0) {
      const mb = rssMb(gateway.pid!) ?? NaN
      rss.push(mb)
      const entries = await metric('gateway_token_cache_entries')
      rows.push([String(second), fmt(mb), String(entries ?? '-'), String(sent), String(failures)])
      console.log(`t=${second}s  rss ${fmt(mb)} MB  cache ${entries ?? '-'} entries  sent ${sent}  failed ${failures}`)
    }
    const wait = 1000 - (performance.now() - tick)
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }
  const third = Math.floor(rss.length / 3)
  const middle = Math.max(...rss.slice(third, 2 * third))
  const last = Math.max(...rss.slice(2 * third))
  const wall = fmt((performance.now() - started) / 1000)
  console.log(`\nsoak: ${durationS} s, ${freshPerS} new tokens/s + ${readsPerS} reads/s, ${sent} requests, ` +
    `${failures} failed, ${wall} s wall`)
  console.log(formatTable(['t (s)', 'RSS (MB)', 'cache entries', 'sent', 'failed'], rows))
  console.log(rss.length >= 3
    ? `RSS ${last <= middle * 1.1 ? 'levelled off' : 'still growing'}: ` +
      `peak ${fmt(middle)} MB in the middle third, ${fmt(last)} MB in the last`
    : 'run longer than 30 s for a levelling verdict')
} finally {
  agent.destroy()
  for (const fn of cleanups.reverse()) await fn()
}
