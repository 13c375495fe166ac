/**
 * `npm run bench:sockets [-- --sockets 10000 --workers 2]`: idle authenticated WebSockets held
 * through one gateway (server.ts bundled as npm start runs it, its own processes), each with its own session, then
 * one session revoked among them: how soon its socket closes (4401), whether every other one
 * stays open, and the gateway's RSS per 1,000 sockets. All on 127.0.0.1: this process is the
 * clients, the JWKS and the revoker; a child process is the upstream (a ws echo server); a
 * private redis-server. Bounded: everything stops after BENCH_SOCKETS_TIMEOUT_S (180 s).
 *
 * A proxied socket costs the gateway two descriptors (client and upstream). This machine's
 * hard limit is 20,000 per process (`ulimit -Hn`; it cannot be raised here), so 10,000 sockets
 * need two workers (GATEWAY_WORKERS=2, one port): the figure is their sum.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import WebSocket, { WebSocketServer } from 'ws'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, REVOCATION } from '../../auth-service/src/contract.js'
import { startRedisServer } from '../local-redis/redis-server.js'
import { GATEWAY_BUNDLE, bundle } from '../start/bundle.js'
import { parseArgs, positiveNumber } from './bench-lib.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

function rssKb (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : 0
}

function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch { return [] }
}

/** The gateway's processes: the primary and its workers. */
const treeRssMb = (pid: number): number => [pid, ...childrenOf(pid)].reduce((kb, p) => kb + rssKb(p), 0) / 1024

function tokenSigner (privateKey: KeyObject, kid: string) {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid, typ: 'at+jwt' })).toString('base64url')
  return (sub: string, sid: string): string => {
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      iss: DEFAULT_ISSUER,
      aud: DEFAULT_AUDIENCE,
      sub,
      sid,
      jti: randomUUID(),
      roles: ['user'],
      iat: now,
      exp: now + 900,
    }
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
  }
}

async function waitForUrl (url: string, ms: number): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    try { if ((await fetch(url)).status === 200) return } catch {}
    if (Date.now() > end) throw new Error(`${url} not ready`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface Held { ws: WebSocket, sid: string, closedAt?: number, code?: number }

type Token = { token: string, sid: string }

async function openAll (url: string, tokens: Token[], concurrency: number): Promise<Held[]> {
  const held: Held[] = []
  let next = 0
  async function lane (): Promise<void> {
    while (next < tokens.length) {
      const { token, sid } = tokens[next++]!
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false })
      const entry: Held = { ws, sid }
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve())
        ws.once('error', reject)
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
      })
      ws.on('error', () => {})
      ws.once('close', (code) => { entry.closedAt = performance.now(); entry.code = code })
      held.push(entry)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  return held
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const count = Math.round(positiveNumber(args, 'sockets', 10_000))
  const workers = Math.round(positiveNumber(args, 'workers', count > 9000 ? 2 : 1))
  const children: ChildProcess[] = []
  const cleanups: Array<() => Promise<void> | void> = []
  const deadline = setTimeout(() => {
    console.error('bench:sockets: time limit reached, stopping')
    for (const c of children) c.kill('SIGKILL')
    process.exit(1)
  }, Number(process.env.BENCH_SOCKETS_TIMEOUT_S ?? 180) * 1000)
  deadline.unref()
  try {
    const redis = await startRedisServer()
    cleanups.push(() => redis.stop({ removeDir: true }))
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const kid = `bench-${randomBytes(4).toString('hex')}`
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }
    const jwks = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
      res.end(JSON.stringify({ keys: [jwk] }))
    })
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => jwks.close(() => resolve())))
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`

    const upstream = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--upstream'], {
      cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.push(upstream)
    const upstreamPort = await new Promise<number>((resolve) => upstream.once('message', (m) => resolve(Number(m))))

    const dir = mkdtempSync(join(tmpdir(), 'bench-sockets-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'gateway.yaml')
    writeFileSync(file, [
      'providers:',
      `  - { id: local, issuer: '${DEFAULT_ISSUER}', audience: '${DEFAULT_AUDIENCE}', jwksUrl: '${jwksUrl}',`,
      '      revocation: true }',
      'routes:',
      `  - { id: live, prefix: /live, upstream: 'http://127.0.0.1:${upstreamPort}', websocket: true,`,
      '      idleTimeout: 600000 }',
    ].join('\n'))
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    const prefix = `bench-sockets:${randomUUID().slice(0, 8)}:`
    mkdirSync(join(dir, 'keys'))
    const entry = await bundle(root, GATEWAY_BUNDLE.entry, GATEWAY_BUNDLE.outfile)
    const gateway = spawn(process.execPath, [...GATEWAY_BUNDLE.nodeArgs, entry], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        GATEWAY_CONFIG: file,
        GATEWAY_PORT: String(port),
        GATEWAY_WORKERS: String(workers),
        GATEWAY_KEYS_DIR: join(dir, 'keys'),
        GATEWAY_REGISTRY_INTERVAL: '0',
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        CSRF_SECRET: randomBytes(32).toString('base64url'),
        LOG_LEVEL: 'warn',
      },
    })
    children.push(gateway)
    const base = `http://127.0.0.1:${port}`
    await waitForUrl(`${base}/readyz`, 30_000)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const rssBefore = treeRssMb(gateway.pid!)

    const signToken = tokenSigner(privateKey, kid)
    const tokens = Array.from({ length: count }, (_, i) => {
      const sid = `s-${i}-${randomUUID()}`
      return { sid, token: signToken(`user-${i}`, sid) }
    })
    const openedAt = performance.now()
    const held = await openAll(`ws://127.0.0.1:${port}/live/feed`, tokens, 64)
    const openSeconds = (performance.now() - openedAt) / 1000
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const rssAfter = treeRssMb(gateway.pid!)

    const client = new Redis(redis.url)
    cleanups.push(() => { client.disconnect() })
    const victim = held[Math.floor(count / 3)]!
    const until = Date.now() + 60_000
    await client.zadd(REVOCATION.sessionsKey(prefix), until, victim.sid)
    const published = performance.now()
    const message = { type: 'session', sid: victim.sid, until, at: Date.now() }
    await client.publish(REVOCATION.channel(prefix), JSON.stringify(message))
    while (victim.closedAt === undefined && performance.now() - published < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const others = held.filter((h) => h !== victim)
    const stillOpen = others.filter((h) => h.ws.readyState === WebSocket.OPEN).length
    const result = {
      date: new Date().toISOString(),
      sockets: count,
      workers,
      openSeconds: Number(openSeconds.toFixed(1)),
      rssBeforeMb: Number(rssBefore.toFixed(1)),
      rssAfterMb: Number(rssAfter.toFixed(1)),
      rssPerThousandMb: Number(((rssAfter - rssBefore) / (count / 1000)).toFixed(1)),
      revokedClosedMs: victim.closedAt === undefined ? null : Number((victim.closedAt - published).toFixed(1)),
      revokedCode: victim.code ?? null,
      othersOpen: stillOpen,
      othersTotal: others.length,
    }
    console.log([
      `${count} idle authenticated WebSockets through one gateway (${workers} worker(s)), ` +
        `opened in ${result.openSeconds} s`,
      `gateway RSS: ${result.rssBeforeMb} MB idle -> ${result.rssAfterMb} MB holding them: ` +
        `${result.rssPerThousandMb} MB per 1,000 sockets`,
      `one session revoked: its socket closed with ${result.revokedCode} after ${result.revokedClosedMs} ms; ` +
        `${stillOpen} of the other ${others.length} still open`,
    ].join('\n'))
    mkdirSync(join(root, 'bench-results'), { recursive: true })
    writeFileSync(join(root, 'bench-results', `sockets-${Date.now()}.json`), JSON.stringify(result, null, 2))
    for (const h of held) h.ws.terminate()
    const ok = result.revokedCode === 4401 && result.revokedClosedMs !== null && result.revokedClosedMs < 1000 &&
      stillOpen === others.length
    process.exitCode = ok ? 0 : 1
  } finally {
    for (const c of children) c.kill('SIGTERM')
    for (const cleanup of cleanups.reverse()) await cleanup()
    clearTimeout(deadline)
  }
}

if (process.argv[2] === '--upstream') {
  // The upstream: accepts every socket, echoes, says nothing on its own.
  const server = http.createServer((_req, res) => res.end('{}'))
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false })
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)))
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port))
} else {
  await main()
}
