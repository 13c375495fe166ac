/**
 * The gateway built on port 0 with real Redis, for the gateway's tests (keys, tokens and
 * upstreams come from scripts/testing).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { buildGateway, type GatewayDeps } from '../../src/app.js'
import { defaultConfig, type GatewayConfig } from '../../src/config.js'
import { shippedGatewayFile } from './gateway-file.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { request } from '../../../scripts/testing/http.js'
import { waitFor, type Teardown } from '../../../scripts/testing/wait.js'

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
  /** `file` defaults to the shipped gateway file, compiled for the test's config. */
  deps?: Partial<GatewayDeps>
  /** Wait until /readyz says 200 (default true). */
  waitReady?: boolean
}

export async function startGateway (t: Teardown, opts: GatewayFixtureOptions): Promise<TestGateway> {
  const r = opts.redis ?? await useTestRedis(t)
  const upstream = opts.upstream ?? 'http://127.0.0.1:9'
  // The gateway's own keys: a fresh directory per gateway unless the test names one.
  let gatewayKeysDir = opts.config?.gatewayKeysDir
  if (gatewayKeysDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-keys-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    gatewayKeysDir = dir
  }
  const config = defaultConfig({
    gatewayKeysDir,
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
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: config.redisCommandTimeoutMs })
  redis.on('error', () => {})
  const logs: string[] = []
  const app = buildGateway(config, {
    redis,
    file: shippedGatewayFile(config),
    logStream: { write: (line: string) => { logs.push(line) } },
    ...opts.deps,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close(); redis.disconnect() })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  if (
    opts.waitReady !== false
  ) await waitFor(async () => (await request(url, '/readyz')).status === 200, 5000, 'gateway ready')
  return { app, url, config, redis, prefix: r.prefix, logs }
}
