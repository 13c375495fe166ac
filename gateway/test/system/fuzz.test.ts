/**
 * Hostile input through the whole stack in one process (gateway, auth service, orders and
 * users on loopback, one real Redis): seeded cases by category (scripts/testing/fuzz.ts),
 * each sent as raw bytes on its own socket. Every answer is a 4xx in the contract's JSON
 * shape within 2 s, never a 5xx, a hang or a crash, and no refused registration leaves an
 * account behind. FUZZ_SEED replays a run.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildAuthService } from '../../../auth-service/src/app.js'
import { loadConfig as loadAuthConfig } from '../../../auth-service/src/config.js'
import { buildOrdersService } from '../../../services/orders/src/app.js'
import { buildUsersService } from '../../../services/users/src/app.js'
import { buildGateway } from '../../src/app.js'
import { shippedGatewayFile } from '../helpers/gateway-file.js'
import { loadConfig as loadGatewayConfig } from '../../src/config.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { waitFor } from '../../../scripts/testing/wait.js'
import { fuzzCases, rawRequest, sendRaw, type FuzzCategory } from '../../../scripts/testing/fuzz.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261203)
const PER_CATEGORY = 12
const ANSWER_WITHIN_MS = 2000
const CONCURRENCY = 4

async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as { port: number }).port
}

t.test(`fuzz through the gateway (seed ${SEED})`, async (t) => {
  const redis = await useTestRedis(t)
  const keysDir = mkdtempSync(join(tmpdir(), 'fuzz-keys-'))
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  const shared = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    LOG_LEVEL: 'silent',
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    CSRF_SECRET: randomBytes(32).toString('base64url'),
  }
  const auth = await buildAuthService(loadAuthConfig({ ...shared, KEYS_DIR: keysDir, LOGIN_MAX_FAILURES: '0' }))
  const orders = buildOrdersService()
  const users = buildUsersService()
  const [authPort, ordersPort, usersPort] = await Promise.all([auth, orders, users].map(listen))
  const upstream = (port: number | undefined) => `http://127.0.0.1:${port}`
  const gatewayConfig = loadGatewayConfig({
    ...shared,
    AUTH_URL: upstream(authPort),
    ORDERS_URL: upstream(ordersPort),
    USERS_URL: upstream(usersPort),
    PAYMENTS_URL: upstream(usersPort),
    WEB_URL: upstream(usersPort),
    RATE_LIMIT_AUTH: '100000',
    RATE_LIMIT_NOT_FOUND: '100000',
  })
  const gateway = buildGateway(gatewayConfig, { file: shippedGatewayFile(gatewayConfig) })
  const port = await listen(gateway)
  t.teardown(async () => {
    await gateway.close()
    await Promise.all([auth, orders, users].map((app) => app.close()))
  })
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 10_000, 'gateway ready')

  const cases = fuzzCases(SEED, PER_CATEGORY)
  const answers = new Array<Awaited<ReturnType<typeof sendRaw>>>(cases.length)
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < cases.length) {
      const i = next++
      answers[i] = await sendRaw(port, rawRequest(cases[i]!, `127.0.0.1:${port}`), ANSWER_WITHIN_MS + 3000)
    }
  }))

  const counts = new Map<FuzzCategory, Map<string, number>>()
  const failures: string[] = []
  for (const [i, c] of cases.entries()) {
    const a = answers[i]!
    const byStatus = counts.get(c.category) ?? new Map<string, number>()
    counts.set(c.category, byStatus)
    byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1)
    const what = `${c.category}: ${c.d} (${c.method} ${c.path})`
    let body: { error?: unknown, message?: unknown } | null = null
    try { body = JSON.parse(a.body) } catch {}
    if (a.status < 400 || a.status > 499) failures.push(`${what}: status ${a.status}${a.error ? ` (${a.error})` : ''}`)
    else if (typeof body?.error !== 'string' || typeof body?.message !== 'string') {
      failures.push(`${what}: body is not the contract's error shape: ${a.body.slice(0, 80)}`)
    }
    if (a.ms > ANSWER_WITHIN_MS) failures.push(`${what}: answered after ${Math.round(a.ms)} ms`)
    if (c.email !== undefined && a.status !== 201) {
      const stored = await redis.client.exists(`${redis.prefix}email:${c.email.trim().toLowerCase()}`)
      if (stored) failures.push(`${what}: refused (${a.status}) but an account exists for ${JSON.stringify(c.email)}`)
    }
  }
  for (const [category, byStatus] of counts) {
    t.comment(`${category}: ${[...byStatus].map(([status, n]) => `${n} × ${status}`).join(', ')}`)
  }
  t.same(failures, [], `${cases.length} hostile requests: every one a JSON 4xx within ${ANSWER_WITHIN_MS} ms`)
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the gateway still answers afterwards')
})
