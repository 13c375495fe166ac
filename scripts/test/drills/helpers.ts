/**
 * The stack for failure drills, as real processes started as `npm start` starts them.
 * - The auth and orders services as `node --import tsx <entry>`, the gateway compiled.
 * - Free loopback ports, fixed per drill, so a process can be stopped and started again at the same address.
 * - What whole-stack tests share (PASSWORD, limits, registering a user) is in scripts/testing/stack.ts.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GATEWAY_BUNDLE, bundle } from '../../start/bundle.js'
import { freePort } from '../../testing/ports.js'
import { REPO_ROOT, startNode, type NodeProcess } from '../../testing/node-process.js'
import { NO_RATE_LIMITS, localUrl, waitForOk } from '../../testing/stack.js'
import type { Teardown } from '../../testing/wait.js'

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

export interface AuthOptions { redis: RedisTarget, keysDir: string, port: number, env?: Record<string, string> }

export async function startAuth (t: Teardown, opts: AuthOptions): Promise<NodeProcess> {
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
  const env = { ORDERS_PORT: String(port) }
  return await startNode(t, { name: 'orders', entry: 'services/orders/src/server.ts', env })
}

export interface GatewayUpstreams {
  auth: string
  orders?: string
  users?: string
  payments?: string
  web?: string
  jwks?: string
}

export interface GatewayOptions {
  redis: RedisTarget
  upstreams: GatewayUpstreams
  port?: number
  env?: Record<string, string>
}

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
export async function startGatewayProcess (t: Teardown, opts: GatewayOptions): Promise<NodeProcess> {
  const dead = localUrl(await freePort())
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
  await waitForOk(`${gateway.url}/readyz`, { timeoutMs: 15_000, what: 'gateway ready' })
  return gateway
}
