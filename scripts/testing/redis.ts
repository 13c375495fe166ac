/**
 * Real Redis for tests. Uses REDIS_URL, else the local default (127.0.0.1:6379) when it
 * answers, else starts a private redis-server for the calling test file. Every test file
 * gets its own key prefix (tap runs files in parallel) and its keys are deleted after.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { pingRedis, startRedisServer, REDIS_MISSING_HELP } from '../local-redis/redis-server.js'
import type { Teardown } from './wait.js'

export interface TestRedis {
  url: string
  prefix: string
  /** A client without the prefix applied; use it to inspect keys as `prefix + name`. */
  client: Redis
}

const DEFAULT_URL = 'redis://127.0.0.1:6379'

export async function useTestRedis (t: Teardown): Promise<TestRedis> {
  let url = process.env.REDIS_URL ?? DEFAULT_URL
  if (!(await pingRedis(url))) {
    if (process.env.REDIS_URL) throw new Error(`REDIS_URL=${url} does not answer. ${REDIS_MISSING_HELP}`)
    const server = await startRedisServer()
    t.teardown(() => server.stop({ removeDir: true }))
    url = server.url
  }
  const prefix = `test:${randomBytes(6).toString('hex')}:`
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  t.teardown(async () => {
    await deleteByPrefix(client, prefix)
    client.disconnect()
  })
  return { url, prefix, client }
}

export async function deleteByPrefix (client: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
    cursor = next
    if (keys.length > 0) await client.unlink(...keys)
  } while (cursor !== '0')
}
