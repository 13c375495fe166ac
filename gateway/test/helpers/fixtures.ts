/**
 * Test fixtures for the gateway: real RS256 keys and tokens (jose), a throwaway JWKS server
 * that counts its fetches, an echo upstream that returns the headers it received, a raw HTTP
 * client that can send duplicate headers, and a gateway built on port 0 with real Redis.
 */
import http from 'node:http'
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { Redis } from 'ioredis'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../../auth-service/src/contract.js'
import { buildGateway, type GatewayDeps } from '../../src/app.js'
import { defaultConfig, type GatewayConfig } from '../../src/config.js'
import { defaultRoutes } from '../../src/routes.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'

interface T { teardown: (fn: () => unknown) => void }

export interface Signer { kid: string, privateKey: CryptoKey, publicKey: CryptoKey, jwk: JWK }

export async function createSigner (kid = `k-${randomUUID().slice(0, 8)}`): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...await exportJWK(publicKey), kid, alg: 'RS256', use: 'sig' }
  return { kid, privateKey, publicKey, jwk }
}

export interface TokenOptions {
  claims?: Record<string, unknown>
  header?: Record<string, unknown>
  /** Remove these claims from the defaults. */
  omit?: string[]
}

export async function signToken (signer: Signer, opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {
    iss: DEFAULT_ISSUER,
    aud: DEFAULT_AUDIENCE,
    sub: 'user-1',
    sid: `sid-${randomUUID()}`,
    jti: randomUUID(),
    roles: ['user'],
    iat: now,
    exp: now + 900,
    ...opts.claims,
  }
  for (const name of opts.omit ?? []) delete claims[name]
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'at+jwt', ...opts.header } as { alg: string })
    .sign(signer.privateKey)
}

export interface JwksServer { url: string, port: number, fetches: () => number, setKeys: (keys: JWK[]) => void, close: () => Promise<void>, restart: () => Promise<void> }

export async function startJwksServer (t: T, keys: JWK[]): Promise<JwksServer> {
  let current = keys
  let fetches = 0
  let app: FastifyInstance
  let port = 0
  const start = async () => {
    app = Fastify()
    app.get('/.well-known/jwks.json', async (_req, reply) => {
      fetches++
      reply.header('cache-control', 'public, max-age=300')
      return { keys: current }
    })
    await app.listen({ host: '127.0.0.1', port })
    port = (app.server.address() as { port: number }).port
  }
  await start()
  let closed = false
  t.teardown(async () => { if (!closed) await app.close() })
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    fetches: () => fetches,
    setKeys: (k) => { current = k },
    close: async () => { closed = true; await app.close() },
    restart: async () => { closed = false; await start() },
  }
}

export interface Echo { url: string, close: () => Promise<void> }

/** Answers every path with what it received; /slow waits 1 s first. */
export async function startEchoUpstream (t: T, name = 'echo'): Promise<Echo> {
  const app = Fastify()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
  app.all('/*', async (request) => {
    if (request.url.startsWith('/slow') || request.url.includes('/slow')) await new Promise((resolve) => setTimeout(resolve, 1000))
    return { upstream: name, method: request.method, url: request.url, headers: request.headers, rawHeaders: request.raw.rawHeaders, body: request.body ?? null }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, close: () => app.close() }
}

export interface Res { status: number, headers: http.IncomingHttpHeaders, text: string, json: any }

/** Raw HTTP request: `headers` is a list of [name, value] pairs, so duplicates and odd names go out as written. */
export async function request (base: string, path: string, opts: { method?: string, headers?: Array<[string, string]>, body?: string } = {}): Promise<Res> {
  const u = new URL(base)
  // The path goes out exactly as given (no dot-segment normalisation, unlike URL).
  const flat: string[] = ['Host', u.host, 'Connection', 'close']
  for (const [k, v] of opts.headers ?? []) flat.push(k, v)
  if (opts.body !== undefined) flat.push('Content-Length', String(Buffer.byteLength(opts.body)))
  return await new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: flat, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => {
        let json: unknown = null
        try { json = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
      res.on('aborted', () => reject(new Error(`${path}: the answer was cut off`)))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

export const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`]

export interface TestGateway {
  app: FastifyInstance
  url: string
  config: Readonly<GatewayConfig>
  redis: Redis
  prefix: string
  logs: string[]
}

export interface GatewayFixtureOptions {
  config?: Partial<GatewayConfig>
  upstream?: string
  jwksUrl: string
  /** Use this Redis URL/prefix instead of useTestRedis (to share the prefix across gateways, or a dead Redis). */
  redis?: { url: string, prefix: string }
  deps?: GatewayDeps
  /** Wait until /readyz says 200 (default true). */
  waitReady?: boolean
}

export async function startGateway (t: T, opts: GatewayFixtureOptions): Promise<TestGateway> {
  const r = opts.redis ?? await useTestRedis(t)
  const upstream = opts.upstream ?? 'http://127.0.0.1:9'
  const config = defaultConfig({
    authUrl: upstream,
    ordersUrl: upstream,
    usersUrl: upstream,
    paymentsUrl: upstream,
    webUrl: upstream,
    jwksUrl: opts.jwksUrl,
    redisUrl: r.url,
    redisPrefix: r.prefix,
    logLevel: 'info',
    ...opts.config,
  })
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  const logs: string[] = []
  const app = buildGateway(config, {
    redis,
    routes: defaultRoutes(config),
    logStream: { write: (line: string) => { logs.push(line) } },
    ...opts.deps,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close(); redis.disconnect() })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  if (opts.waitReady !== false) await waitFor(async () => (await request(url, '/readyz')).status === 200, 5000, 'gateway ready')
  return { app, url, config, redis, prefix: r.prefix, logs }
}

export async function waitFor (check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
