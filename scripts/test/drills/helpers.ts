/**
 * The stack for failure drills, as real processes started as `npm start` starts them (the
 * auth and orders services `node --import tsx <entry>`, the gateway compiled): on free
 * loopback ports, fixed per drill so a process can be stopped and started again at the same
 * address.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GATEWAY_BUNDLE, bundle } from '../../start/bundle.js'
import { freePort } from '../../local-redis/redis-server.js'
import { REPO_ROOT, call, startNode, type NodeProcess } from '../../testing/node-process.js'
import { waitFor } from '../../testing/wait.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export const PASSWORD = 'correct horse battery'

/** Generous limits: drills measure failure behaviour, not rate limiting. */
const NO_RATE_LIMITS = { RATE_LIMIT_AUTH: '100000', RATE_LIMIT_API: '100000', RATE_LIMIT_NOT_FOUND: '100000' }

/** One pair per drill file, given to the auth service and the gateway alike (as npm start does). */
export const SECRETS = {
  REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
  CSRF_SECRET: randomBytes(32).toString('base64url'),
}

export function tempKeysDir (t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'drill-keys-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface RedisTarget { url: string, prefix: string }

export async function startAuth (t: Teardown, opts: { redis: RedisTarget, keysDir: string, port: number, env?: Record<string, string> }): Promise<NodeProcess> {
  return await startNode(t, {
    name: 'auth',
    entry: 'auth-service/src/server.ts',
    env: {
      AUTH_PORT: String(opts.port),
      REDIS_URL: opts.redis.url,
      REDIS_PREFIX: opts.redis.prefix,
      KEYS_DIR: opts.keysDir,
      KEYS_RELOAD_INTERVAL: '0',
      ...SECRETS,
      ...opts.env,
    },
  })
}

export async function startOrders (t: Teardown, port: number): Promise<NodeProcess> {
  return await startNode(t, { name: 'orders', entry: 'services/orders/src/server.ts', env: { ORDERS_PORT: String(port) } })
}

export interface GatewayUpstreams { auth: string, orders?: string, users?: string, payments?: string, web?: string, jwks?: string }

// The drill files run in parallel and next to npm start's tests, which rebuild the shared
// GATEWAY_BUNDLE.outfile: each drill file compiles its own copy beside it, once.
const drillBundle = GATEWAY_BUNDLE.outfile.replace(/\.js$/, `.drill-${process.pid}.js`)
let built: Promise<unknown> | undefined

function buildGatewayOnce (): Promise<unknown> {
  if (!built) {
    built = bundle(REPO_ROOT, GATEWAY_BUNDLE.entry, drillBundle)
    process.once('exit', () => {
      for (const file of [drillBundle, `${drillBundle}.map`]) rmSync(join(REPO_ROOT, file), { force: true })
    })
  }
  return built
}

/** The compiled gateway with npm start's node flags; resolves once its /readyz answers 200. */
export async function startGatewayProcess (t: Teardown, opts: { redis: RedisTarget, upstreams: GatewayUpstreams, port?: number, env?: Record<string, string> }): Promise<NodeProcess> {
  const dead = `http://127.0.0.1:${await freePort()}`
  const u = opts.upstreams
  await buildGatewayOnce()
  const gateway = await startNode(t, {
    name: 'gateway',
    args: [...GATEWAY_BUNDLE.nodeArgs, drillBundle],
    env: {
      GATEWAY_PORT: String(opts.port ?? await freePort()),
      REDIS_URL: opts.redis.url,
      REDIS_PREFIX: opts.redis.prefix,
      AUTH_URL: u.auth,
      ORDERS_URL: u.orders ?? dead,
      USERS_URL: u.users ?? dead,
      PAYMENTS_URL: u.payments ?? dead,
      WEB_URL: u.web ?? dead,
      ...(u.jwks ? { JWKS_URL: u.jwks } : {}),
      GATEWAY_REGISTRY_INTERVAL: '0',
      CSRF_SECRET: SECRETS.CSRF_SECRET,
      ...NO_RATE_LIMITS,
      ...opts.env,
    },
  })
  await waitFor(async () => (await call(`${gateway.url}/readyz`)).status === 200, 15_000, 'gateway ready')
  return gateway
}

export interface Session { accessToken: string, refreshToken: string, email: string, userId: string }

/** Registers a user through `base` (the gateway) in body mode: tokens come back in the body. */
export async function registerUser (base: string, tag = 'drill'): Promise<Session> {
  const email = `${tag}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.test`
  const res = await call(`${base}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, tokenDelivery: 'body' }),
  })
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${JSON.stringify(res.json)}`)
  return { accessToken: res.json.accessToken, refreshToken: res.json.refreshToken, email, userId: res.json.user.id }
}

export const jsonPost = (body: unknown, headers: Record<string, string> = {}): RequestInit =>
  ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

export const withBearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })
