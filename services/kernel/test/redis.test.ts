/**
 * The kernel's Redis factory: the strict node-list parser, the choice of Redis or Cluster and
 * the options each gets, and scan/delete/subscribe on the real Redis at REDIS_URL (else
 * 127.0.0.1:6379), under a key prefix of this file's own. A real cluster: scripts/test/redis-cluster.test.ts.
 */
import t from 'tap'
import { once } from 'node:events'
import { Cluster, Redis } from 'ioredis'
import {
  createRedisClient, createSubscriber, deleteMatching, isCluster, parseClusterNodes, scanAll,
} from '../redis.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'

async function collect (iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const item of iterable) out.push(item)
  return out.sort()
}

t.test('parseClusterNodes accepts host:port lists', async (t) => {
  t.same(parseClusterNodes('127.0.0.1:7000, localhost:7001,[::1]:7002'), [
    { host: '127.0.0.1', port: 7000 },
    { host: 'localhost', port: 7001 },
    { host: '::1', port: 7002 },
  ])
})

t.test('parseClusterNodes rejects bad input with a clear message', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /cluster nodes are empty: expected a comma-separated host:port list/],
    ['   ', /cluster nodes are empty/],
    ['127.0.0.1', /"127.0.0.1" is not host:port/],
    ['127.0.0.1:0', /"127.0.0.1:0" is not host:port with a port 1-65535/],
    ['127.0.0.1:70000', /"127.0.0.1:70000" is not host:port/],
    ['127.0.0.1:12ab', /"127.0.0.1:12ab" is not host:port/],
    [':7000', /":7000" is not host:port/],
    ['bad_host!:7000', /"bad_host!:7000" is not host:port/],
    ['redis://127.0.0.1:7000', /"redis:\/\/127.0.0.1:7000" is not host:port/],
    ['127.0.0.1:7000,,127.0.0.1:7001', /node #2 is empty/],
    ['127.0.0.1:7000,127.0.0.1:7000', /"127.0.0.1:7000" is listed twice/],
  ]
  for (const [input, message] of cases) t.throws(() => parseClusterNodes(input), message, JSON.stringify(input))
})

t.test('createRedisClient picks Redis or Cluster', async (t) => {
  const plain = createRedisClient({ url: 'redis://127.0.0.1:1', clusterNodes: ' ', lazyConnect: true })
  t.ok(plain instanceof Redis, 'blank clusterNodes gives a plain Redis')
  t.equal(isCluster(plain), false)
  plain.disconnect()
  const cluster = createRedisClient({ url: 'redis://u:p%40ss@x:1', clusterNodes: '127.0.0.1:1', lazyConnect: true, commandTimeout: 500 })
  t.ok(cluster instanceof Cluster, 'clusterNodes gives a Cluster')
  t.equal(isCluster(cluster), true)
  t.match((cluster as Cluster).options.redisOptions, { username: 'u', password: 'p@ss', commandTimeout: 500 })
  cluster.disconnect()
  const retryStrategy = (times: number) => Math.min(50 * times, 1000)
  const plainRetry = createRedisClient({ url: 'redis://127.0.0.1:1', lazyConnect: true, retryStrategy }) as Redis
  t.equal(plainRetry.options.retryStrategy, retryStrategy, 'retryStrategy: the plain client reconnects with it')
  plainRetry.disconnect()
  const clusterRetry = createRedisClient({ url: 'redis://127.0.0.1:1', clusterNodes: '127.0.0.1:1', lazyConnect: true, retryStrategy }) as Cluster
  t.equal(clusterRetry.options.clusterRetryStrategy, retryStrategy, 'retryStrategy: the cluster reconnects with it')
  clusterRetry.disconnect()
  t.throws(() => createRedisClient({ url: 'redis://x:1', clusterNodes: 'nope' }), /"nope" is not host:port/)
  t.throws(() => createRedisClient({ url: 'redis://x:1/2', clusterNodes: '127.0.0.1:1' }), /only database 0/)
})

t.test('scanAll and deleteMatching on a standalone Redis', async (t) => {
  const { url, prefix } = await useTestRedis(t)
  const client = createRedisClient({ url, maxRetriesPerRequest: 1 })
  t.teardown(() => client.disconnect())
  const keys = Array.from({ length: 30 }, (_, i) => `${prefix}solo:${i}`)
  for (const key of keys) await client.set(key, '1')
  await client.set(`${prefix}other`, '1')
  t.same(await collect(scanAll(client, `${prefix}solo:*`, 7)), [...keys].sort())
  t.equal(await deleteMatching(client, `${prefix}solo:*`), 30)
  t.same(await collect(scanAll(client, `${prefix}*`)), [`${prefix}other`], 'only the non-matching key is left')
})

t.test('createSubscriber drops the parent\'s commandTimeout (a SUBSCRIBE waits for Redis)', async (t) => {
  const plain = createRedisClient({ url: 'redis://127.0.0.1:1', lazyConnect: true, commandTimeout: 200 }) as Redis
  const plainSubscriber = createSubscriber(plain) as Redis
  t.equal(plain.options.commandTimeout, 200)
  t.equal(plainSubscriber.options.commandTimeout, undefined)
  t.equal(plainSubscriber.options.enableOfflineQueue, true)
  const cluster = createRedisClient({
    url: 'redis://u:p%40ss@x:1', clusterNodes: '127.0.0.1:1', lazyConnect: true, commandTimeout: 200,
  }) as Cluster
  const clusterSubscriber = createSubscriber(cluster) as Cluster
  t.equal(clusterSubscriber.options.redisOptions?.commandTimeout, undefined)
  t.match(clusterSubscriber.options.redisOptions, { username: 'u', password: 'p@ss' }, 'the other node options kept')
  for (const c of [plain, plainSubscriber, cluster, clusterSubscriber]) c.disconnect()
})

t.test('createSubscriber on a standalone Redis: a second connection that receives', async (t) => {
  const { url, prefix } = await useTestRedis(t)
  const client = createRedisClient({ url, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true })
  t.teardown(() => client.disconnect())
  const subscriber = createSubscriber(client)
  t.teardown(() => subscriber.disconnect())
  t.notOk(isCluster(subscriber))
  t.not(subscriber, client, 'its own connection')
  await subscriber.subscribe(`${prefix}events`)
  const received = once(subscriber, 'message', { signal: AbortSignal.timeout(5_000) })
  await client.connect()
  await client.publish(`${prefix}events`, 'ping-1')
  t.same(await received, [`${prefix}events`, 'ping-1'])
})
