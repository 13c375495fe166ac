/**
 * The whole stack in one process, for system tests: the real auth service, the orders and users
 * services and the gateway (on the shipped gateway file) on loopback ports, one real Redis.
 */
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
import { loadConfig as loadGatewayConfig } from '../../src/config.js'
import { useTestRedis, type TestRedis } from '../../../scripts/testing/redis.js'
import { waitFor, type Teardown } from '../../../scripts/testing/wait.js'
import { shippedGatewayFile } from './gateway-file.js'

export interface InProcessStack {
  gatewayUrl: string
  gatewayPort: number
  authUrl: string
  redis: TestRedis
}

export interface InProcessStackOptions {
  /** Extra auth-service env (e.g. REFRESH_REUSE_GRACE). */
  auth?: Record<string, string>
  /** Extra gateway env (e.g. raised rate limits). */
  gateway?: Record<string, string>
  /** Collects the auth service's log lines (level info, its audit lines among them). */
  authLogLines?: string[]
}

async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

export async function startInProcessStack (t: Teardown, opts: InProcessStackOptions = {}): Promise<InProcessStack> {
  const redis = await useTestRedis(t)
  const keysDir = mkdtempSync(join(tmpdir(), 'stack-keys-'))
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  const shared = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    LOG_LEVEL: 'silent',
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    CSRF_SECRET: randomBytes(32).toString('base64url'),
  }
  const lines = opts.authLogLines
  const authLog = lines && { LOG_LEVEL: 'info' }
  const auth = await buildAuthService(loadAuthConfig({ ...shared, ...authLog, KEYS_DIR: keysDir, ...opts.auth }),
    lines && { logStream: { write: (line: string) => { lines.push(line) } } })
  const upstreams = [auth, buildOrdersService(), buildUsersService()]
  const [authUrl, ordersUrl, usersUrl] = await Promise.all(upstreams.map(listen)) as [string, string, string]
  const gatewayConfig = loadGatewayConfig({
    ...shared,
    AUTH_URL: authUrl,
    ORDERS_URL: ordersUrl,
    USERS_URL: usersUrl,
    PAYMENTS_URL: usersUrl,
    WEB_URL: usersUrl,
    GATEWAY_PORT: '0',
    ...opts.gateway,
  })
  const gateway = buildGateway(gatewayConfig, { file: shippedGatewayFile(gatewayConfig) })
  const gatewayUrl = await listen(gateway)
  t.teardown(async () => {
    await gateway.close()
    await Promise.all(upstreams.map((app) => app.close()))
  })
  await waitFor(async () => (await fetch(`${gatewayUrl}/readyz`)).status === 200, 10_000, 'gateway ready')
  return { gatewayUrl, gatewayPort: Number(new URL(gatewayUrl).port), authUrl, redis }
}
