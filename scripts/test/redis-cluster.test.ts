/**
 * The kernel's Redis factory on a real local Redis Cluster (started here from redis-server and
 * redis-cli), and the cluster starter itself. The unit parts are in services/kernel/test/redis.test.ts.
 */
import t from 'tap'
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { Cluster, Redis } from 'ioredis'
import { startRedisCluster, REDIS_CLI_MISSING_HELP } from '../local-redis/redis-cluster.js'
import {
  createRedisClient, createSubscriber, deleteMatching, isCluster, scanAll, type RedisClient,
} from '../../services/kernel/redis.js'
import { pingRedis } from '../local-redis/redis-server.js'
import { isAlive } from '../testing/node-process.js'

const MOVE_LUA = `
local value = redis.call('GET', KEYS[1])
if not value then return false end
redis.call('SET', KEYS[2], value)
redis.call('DEL', KEYS[1])
return value
`
type WithMove = RedisClient & { moveValue: (from: string, to: string) => Promise<string | null> }

async function collect (iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const item of iterable) out.push(item)
  return out.sort()
}

t.test('a 3-master cluster through createRedisClient', async (t) => {
  const cluster = await startRedisCluster({ masters: 3 })
  let stopped = false
  t.teardown(async () => { if (!stopped) await cluster.stop() })
  t.equal(cluster.nodes.length, 3)
  t.equal(cluster.nodesEnv, cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(','))

  const client = createRedisClient({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodesEnv, maxRetriesPerRequest: 1 })
  t.ok(isCluster(client))

  await t.test('SET/GET across slots on every master', async (t) => {
    const keys = Array.from({ length: 40 }, (_, i) => `spread:${i}`)
    for (const key of keys) await client.set(key, `v-${key}`)
    for (const key of keys) t.equal(await client.get(key), `v-${key}`)
    const masters = (client as Cluster).nodes('master')
    t.equal(masters.length, 3)
    const sizes = await Promise.all(masters.map((node) => node.dbsize()))
    t.ok(sizes.every((size) => size > 0), `keys landed on every master (${sizes.join(',')})`)
  })

  await t.test('Lua via defineCommand over keys sharing a hash tag', async (t) => {
    client.defineCommand('moveValue', { numberOfKeys: 2, lua: MOVE_LUA })
    const scripted = client as WithMove
    await client.set('{x}:a', 'hello')
    t.equal(await scripted.moveValue('{x}:a', '{x}:b'), 'hello')
    t.equal(await client.get('{x}:a'), null)
    t.equal(await client.get('{x}:b'), 'hello')
    await client.set('{a}:from', 'v')
    await t.rejects(scripted.moveValue('{a}:from', '{b}:to'), /CROSSSLOT/, 'keys in different slots are refused')
  })

  await t.test('pub/sub delivers a message', async (t) => {
    const subscriber = createSubscriber(client)
    t.teardown(() => subscriber.disconnect())
    t.ok(isCluster(subscriber), 'the subscriber is a cluster client too')
    await subscriber.subscribe('events:test')
    const received = once(subscriber, 'message', { signal: AbortSignal.timeout(5_000) })
    // In a cluster PUBLISH counts only the receiving node's subscribers; the bus carries it to the rest.
    await client.publish('events:test', 'ping-1')
    t.same(await received, ['events:test', 'ping-1'])
  })

  await t.test('scanAll finds keys on all masters; deleteMatching removes them', async (t) => {
    const found = await collect(scanAll(client, 'spread:*', 5))
    t.same(found, Array.from({ length: 40 }, (_, i) => `spread:${i}`).sort())
    t.same(await collect(scanAll(client, 'nothing:*')), [])
    t.equal(await deleteMatching(client, 'spread:*'), 40)
    t.same(await collect(scanAll(client, 'spread:*')), [])
  })

  await t.test('scanAll connects a lazy cluster client first', async (t) => {
    await client.set('lazy:1', '1')
    const lazy = createRedisClient({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodesEnv, lazyConnect: true, enableOfflineQueue: false })
    t.teardown(() => lazy.disconnect())
    t.equal(lazy.status, 'wait')
    t.same(await collect(scanAll(lazy, 'lazy:*')), ['lazy:1'])
  })

  await client.quit()
  await cluster.stop()
  stopped = true
  t.ok(cluster.pids.length === 3 && cluster.pids.every((pid) => !isAlive(pid)), 'no redis-server process remains')
  for (const node of cluster.nodes) t.equal(await pingRedis(`redis://127.0.0.1:${node.port}`), false, `port ${node.port} is closed`)
  t.equal(existsSync(cluster.dir), false, 'temporary directories removed')
})

t.test('a cluster with one replica per master', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 })
  t.teardown(() => cluster.stop())
  t.equal(cluster.nodes.length, 6)
  const client = createRedisClient({ url: 'redis://127.0.0.1:6379', clusterNodes: cluster.nodesEnv })
  t.teardown(() => client.disconnect())
  await client.set('r:{1}', 'one')
  t.equal(await client.get('r:{1}'), 'one')
  const roles = await Promise.all(cluster.nodes.map(async ({ port }) => {
    const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
    await node.connect()
    const role = /role:(\w+)/.exec(await node.info('replication'))?.[1]
    node.disconnect()
    return role
  }))
  t.same(roles.sort(), ['master', 'master', 'master', 'slave', 'slave', 'slave'])
})

t.test('startRedisCluster rejects fewer than 3 masters', async (t) => {
  await t.rejects(startRedisCluster({ masters: 2 }), /masters must be an integer >= 3/)
})

t.test('startRedisCluster says clearly when redis-cli is missing', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'jwt-edge-no-cli-'))
  const serverPath = process.env.PATH?.split(':').map((dir) => join(dir, 'redis-server')).find((path) => existsSync(
    path
  ))
  t.ok(serverPath, 'redis-server is on PATH')
  symlinkSync(serverPath!, join(bin, 'redis-server'))
  const savedPath = process.env.PATH
  process.env.PATH = bin
  t.teardown(() => {
    process.env.PATH = savedPath
    rmSync(bin, { recursive: true, force: true })
  })
  await t.rejects(startRedisCluster(), { message: REDIS_CLI_MISSING_HELP })
  t.match(REDIS_CLI_MISSING_HELP, /redis-cli not found on PATH.*apt-get install redis-tools/)
})
