/**
 * A private Redis Cluster on loopback for tests and local runs: N `redis-server` processes in
 * cluster mode, joined with `redis-cli --cluster create`. Needs Redis >= 7.0 (for `cluster-port`,
 * so the bus port is a free port of its own instead of port + 10000).
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/scaling/
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { ClusterNodeAddress } from '../../services/kernel/redis.js'
import { freePort } from './ports.js'
import { startRedisServer, REDIS_MISSING_HELP, type RedisServer } from './redis-server.js'

const run = promisify(execFile)

export const REDIS_CLI_MISSING_HELP =
  'redis-cli not found on PATH; it is needed to form a Redis Cluster. Install it ' +
  '(Debian/Ubuntu: apt-get install redis-tools or redis-server; macOS: brew install redis).'

export interface RedisCluster {
  /** Every node, masters first (replicas, if any, follow). */
  nodes: ClusterNodeAddress[]
  /** The value for REDIS_CLUSTER_NODES: '127.0.0.1:p1,127.0.0.1:p2,...'. */
  nodesEnv: string
  /** Process ids of the redis-server processes. */
  pids: number[]
  /** Parent temporary directory holding one data directory per node. */
  dir: string
  /** Stops every node (SIGTERM, waits for the exits) and removes the temporary directories. */
  stop: () => Promise<void>
}

export interface StartRedisClusterOptions {
  /** At least 3 (redis-cli refuses fewer). */
  masters?: number
  /** Replicas per master. */
  replicas?: number
  /** How long to wait for `cluster_state:ok` on every node. */
  readyTimeoutMs?: number
}

const HOST = '127.0.0.1'

export async function startRedisCluster (opts: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, replicas = 0, readyTimeoutMs = 15_000 } = opts
  if (!Number.isInteger(masters) || masters < 3) throw new Error(`masters must be an integer >= 3, got ${masters}`)
  if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`replicas must be an integer >= 0, got ${replicas}`)
  await checkTools()

  const total = masters * (1 + replicas)
  const dir = mkdtempSync(join(tmpdir(), 'jwt-edge-redis-cluster-'))
  const servers: RedisServer[] = []
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const ports = await distinctFreePorts(total * 2)
    for (let i = 0; i < total; i++) {
      const nodeDir = join(dir, `node-${i}`)
      mkdirSync(nodeDir)
      servers.push(await startRedisServer({
        port: ports[2 * i],
        dir: nodeDir,
        extraArgs: [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(nodeDir, 'nodes.conf'),
          '--cluster-node-timeout', '2000',
          '--cluster-port', String(ports[2 * i + 1]),
          // Replicas sync at once instead of after the default 5 s diskless-sync delay.
          '--repl-diskless-sync-delay', '0',
        ],
      }))
    }
    const nodes = servers.map((server) => ({ host: HOST, port: server.port }))
    const addresses = nodes.map((node) => `${node.host}:${node.port}`)
    try {
      await run('redis-cli', [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 })
    } catch (err) {
      const { stdout = '', stderr = '' } = err as { stdout?: string, stderr?: string }
      throw new Error(`redis-cli --cluster create failed: ${(stderr || stdout).trim().slice(-500) || String(err)}`)
    }
    await waitForClusterOk(nodes, replicas, readyTimeoutMs)
    return {
      nodes,
      nodesEnv: addresses.join(','),
      pids: servers.map((server) => server.process.pid).filter((pid): pid is number => pid !== undefined),
      dir,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Fails with a clear message when redis-server or redis-cli is missing or redis-server is older than 7.0. */
async function checkTools (): Promise<void> {
  const version = await toolVersion('redis-server', REDIS_MISSING_HELP)
  const major = Number(/v=(\d+)\./.exec(version)?.[1] ?? 0)
  if (major < 7) throw new Error(`Redis Cluster harness needs redis-server >= 7.0 (found: ${version.trim()})`)
  await toolVersion('redis-cli', REDIS_CLI_MISSING_HELP)
}

async function toolVersion (tool: string, help: string): Promise<string> {
  try {
    return (await run(tool, ['--version'], { timeout: 5_000 })).stdout
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(help)
    throw err
  }
}

async function distinctFreePorts (count: number): Promise<number[]> {
  const ports = new Set<number>()
  for (let attempts = 0; ports.size < count; attempts++) {
    if (attempts > count * 10) throw new Error('could not find enough free ports')
    ports.add(await freePort())
  }
  return [...ports]
}

/**
 * Resolves when every node reports `cluster_state:ok` and knows all nodes, and (with replicas)
 * every master has its replicas connected and every replica's link to its master is up.
 */
async function waitForClusterOk (nodes: ClusterNodeAddress[], replicas: number, timeoutMs: number): Promise<void> {
  const clients = nodes.map(({ host, port }) =>
    new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }))
  const deadline = Date.now() + timeoutMs
  let last = ''
  try {
    await Promise.all(clients.map((client) => client.connect()))
    while (true) {
      const infos = await Promise.all(clients.map(async (client) =>
        String(await client.call('CLUSTER', 'INFO')) + (replicas > 0 ? await client.info('replication') : '')))
      const pending = infos.findIndex((info) =>
        !info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${nodes.length}\r\n`) ||
        (
          replicas > 0 && !(info.includes(`connected_slaves:${replicas}\r\n`) || info.includes('master_link_status:up'))
        ))
      if (pending === -1) return
      last = `${nodes[pending]?.port}: ${infos[pending]?.split('\r\n').slice(0, 6).join(' ')}`
      if (Date.now() > deadline) throw new Error(`Redis Cluster not ready after ${timeoutMs} ms (${last})`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    for (const client of clients) client.disconnect()
  }
}
