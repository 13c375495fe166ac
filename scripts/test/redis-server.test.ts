import t from 'tap'
import { Redis } from 'ioredis'
import { pingRedis, startRedisServer } from '../local-redis/redis-server.js'
import { useTestRedis } from '../testing/redis.js'

t.test('startRedisServer starts a private Redis and stops it', async (t) => {
  const server = await startRedisServer()
  const client = new Redis(server.url, { lazyConnect: true })
  await client.connect()
  await client.set('k', 'v')
  t.equal(await client.get('k'), 'v')
  client.disconnect()
  await server.stop({ removeDir: true })
  t.equal(await pingRedis(server.url), false, 'nothing answers after stop')
})

t.test('useTestRedis gives a working client and a unique prefix', async (t) => {
  const a = await useTestRedis(t)
  const b = await useTestRedis(t)
  t.not(a.prefix, b.prefix)
  t.equal(await a.client.ping(), 'PONG')
})
