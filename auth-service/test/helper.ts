/**
 * Auth-specific test helpers: a real auth service on a real Redis (per-file key prefix), keys
 * in a temporary directory, sign-up and session shortcuts, and Set-Cookie parsing.
 * Waiting (waitFor, sleep) and Teardown come from scripts/testing/wait.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Redis } from 'ioredis'
import { buildAuthService, type AuthDeps } from '../src/app.js'
import { loadConfig, type AuthConfig } from '../src/config.js'
import { loadKeyring, type Keyring } from '../src/keys/keyring.js'
import { createRedisClient } from '../src/redis.js'
import { useTestRedis } from '../../scripts/testing/redis.js'
import { waitFor, type Teardown } from '../../scripts/testing/wait.js'
import { PASSWORD } from '../../scripts/testing/stack.js'

let keyring: Promise<{ dir: string, keyring: Keyring }> | undefined

/** One keyring per test file (RSA key generation is slow-ish), removed at exit. */
export async function testKeyring (): Promise<{ dir: string, keyring: Keyring }> {
  if (!keyring) {
    const dir = mkdtempSync(join(tmpdir(), 'auth-keys-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    keyring = loadKeyring(dir).then((loaded) => ({ dir, keyring: loaded }))
  }
  return await keyring
}

export interface Built {
  app: FastifyInstance
  config: Readonly<AuthConfig>
  keyring: Keyring
  /** Unprefixed client for inspecting keys (`prefix + name`). */
  inspect: Redis
  prefix: string
  redisUrl: string
}

export interface BuildOptions {
  /** A Redis of the test's own (a private redis-server); default: useTestRedis. */
  redisUrl?: string
  /** The sessions' clock (AuthDeps.now). */
  now?: AuthDeps['now']
  /** Collects the service's log lines (level info) into this array instead of discarding them. */
  logLines?: string[]
}

export async function build (t: Teardown, env: Record<string, string> = {}, opts: BuildOptions = {}): Promise<Built> {
  const { keyring, dir } = await testKeyring()
  let redisUrl = opts.redisUrl
  let prefix = `test:auth:${Math.random().toString(36).slice(2)}:`
  let inspect: Redis
  if (redisUrl === undefined) {
    const r = await useTestRedis(t)
    redisUrl = r.url
    prefix = r.prefix
    inspect = r.client
  } else {
    inspect = createRedisClient(redisUrl, 2000)
    inspect.on('error', () => {})
    inspect.connect().catch(() => {})
    t.teardown(() => inspect.disconnect())
  }
  const lines = opts.logLines
  const config = loadConfig({
    REDIS_URL: redisUrl, REDIS_PREFIX: prefix, KEYS_DIR: dir, LOG_LEVEL: lines ? 'info' : 'silent', ...env,
  })
  // The service's own logger options (redaction included) when lines are collected.
  const logging: AuthDeps = lines === undefined
    ? { logger: false }
    : { logStream: { write: (line: string) => { lines.push(line) } } }
  const app = await buildAuthService(config, { keyring, ...logging, now: opts.now })
  t.teardown(() => app.close())
  await app.ready()
  if (opts.redisUrl === undefined) {
    // The app's own client connects lazily; wait until it is usable.
    await waitFor(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      10_000, 'auth service ready')
  }
  return { app, config, keyring, inspect, prefix, redisUrl }
}

let counter = 0
export function uniqueEmail (tag = 'user'): string {
  return `${tag}-${process.pid}-${Date.now()}-${counter++}@example.test`
}
export { PASSWORD }

export interface Cookie { name: string, value: string, attrs: Record<string, string | true> }

/** Parses every Set-Cookie header of a response into name, value and attributes (lower-cased keys). */
export function setCookies (res: LightMyRequestResponse): Map<string, Cookie> {
  const raw = res.headers['set-cookie']
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  const out = new Map<string, Cookie>()
  for (const line of list) {
    const [pair, ...attrParts] = line.split(';').map((s) => s.trim())
    const eq = pair!.indexOf('=')
    const attrs: Record<string, string | true> = {}
    for (const a of attrParts) {
      const i = a.indexOf('=')
      if (i === -1) attrs[a.toLowerCase()] = true
      else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1)
    }
    out.set(pair!.slice(0, eq), { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attrs })
  }
  return out
}

export async function register (app: FastifyInstance, email = uniqueEmail(), body: Record<string, unknown> = {}) {
  return await app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: PASSWORD, ...body } })
}

/** Registers and returns a body-mode session: `{ accessToken, refreshToken, user }`. */
export async function session (app: FastifyInstance, email = uniqueEmail()) {
  const res = await register(app, email, { tokenDelivery: 'body' })
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
  return res.json() as { accessToken: string, refreshToken: string, user: { id: string, email: string } }
}

export async function refreshBody (app: FastifyInstance, refreshToken: string) {
  return await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })
}
