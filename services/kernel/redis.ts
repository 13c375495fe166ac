/**
 * The one Redis client factory every service uses: a plain `Redis` for REDIS_URL, or an ioredis
 * `Cluster` when REDIS_CLUSTER_NODES ('host:port,host:port') is set. Cluster rules callers must
 * keep: keys used together (multi-key commands, Lua scripts, MULTI) share a hash tag (`{...}`);
 * SCAN runs per master (use `scanAll`); no key prefix option (prefix keys yourself); DB 0 only.
 * @see https://redis.github.io/ioredis/interfaces/ClusterOptions.html
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

export type RedisClient = Redis | Cluster

export interface ClusterNodeAddress { host: string, port: number }

export interface RedisClientOptions {
  /** Standalone URL (redis:// or rediss://). In cluster mode only its credentials and TLS are used. */
  url: string
  /** 'host:port,host:port'; a non-empty value switches to Redis Cluster. */
  clusterNodes?: string
  /** Not supported: prefix keys yourself (keeps hash tags visible and SCAN patterns honest). */
  keyPrefix?: never
  lazyConnect?: boolean
  maxRetriesPerRequest?: number | null
  enableOfflineQueue?: boolean
  connectTimeout?: number
  commandTimeout?: number
  /** Delay (ms) before reconnect attempt `times`; standalone: retryStrategy, cluster: clusterRetryStrategy. */
  retryStrategy?: (times: number) => number | null
}

/** True when the client talks to a Redis Cluster. */
export function isCluster (client: RedisClient): client is Cluster {
  return client instanceof Cluster
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i
const IPV6 = /^[0-9a-f:.]+$/i

/**
 * Parses 'host:port,host:port' strictly (spaces around entries allowed; IPv6 as [::1]:7000).
 * Throws an Error naming the bad entry on empty input, empty entries, bad hosts, bad ports or duplicates.
 */
export function parseClusterNodes (value: string): ClusterNodeAddress[] {
  const example = 'expected a comma-separated host:port list, e.g. 127.0.0.1:7000,127.0.0.1:7001'
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`Redis cluster nodes are empty: ${example}`)
  const seen = new Set<string>()
  return value.split(',').map((raw, index) => {
    const entry = raw.trim()
    if (entry === '') throw new Error(`Redis cluster node #${index + 1} is empty: ${example}`)
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry)
    const host = match?.[1] ?? match?.[2]
    const port = Number(match?.[3])
    const hostOk = host !== undefined && (match?.[1] !== undefined ? IPV6.test(host) : HOSTNAME.test(host))
    if (!match || !hostOk || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`Redis cluster node "${entry}" is not host:port with a port 1-65535: ${example}`)
    }
    const key = `${host.toLowerCase()}:${port}`
    if (seen.has(key)) throw new Error(`Redis cluster node "${entry}" is listed twice`)
    seen.add(key)
    return { host, port }
  })
}

/** Redis for `url`, or a Cluster over `clusterNodes` when that is a non-empty string. */
export function createRedisClient (opts: RedisClientOptions): RedisClient {
  const common = definedOnly({
    lazyConnect: opts.lazyConnect,
    maxRetriesPerRequest: opts.maxRetriesPerRequest,
    connectTimeout: opts.connectTimeout,
    commandTimeout: opts.commandTimeout,
  })
  if (opts.clusterNodes === undefined || opts.clusterNodes.trim() === '') {
    const standalone = { ...common, enableOfflineQueue: opts.enableOfflineQueue, retryStrategy: opts.retryStrategy }
    return new Redis(opts.url, definedOnly(standalone))
  }
  const nodes = parseClusterNodes(opts.clusterNodes)
  const { lazyConnect, ...perNode } = common
  const clusterOptions: ClusterOptions = definedOnly({
    lazyConnect,
    enableOfflineQueue: opts.enableOfflineQueue,
    // Per-node connections never reconnect (ioredis refreshes slots instead): the whole cluster does.
    clusterRetryStrategy: opts.retryStrategy,
    // Reads go to masters: replicas may lag, and the token stores need read-your-writes.
    scaleReads: 'master' as const,
    redisOptions: { ...perNode, ...credentialsFromUrl(opts.url) },
  })
  return new Cluster(nodes, clusterOptions)
}

/**
 * A second connection for SUBSCRIBE (a subscribed connection can run nothing else). Same
 * options and, for a cluster, the same nodes; messages published on any node arrive.
 */
export function createSubscriber (client: RedisClient): RedisClient {
  // The SUBSCRIBE sent right after creation must wait for the connection, even when the
  // parent fails fast (enableOfflineQueue: false) or times commands out (commandTimeout: a
  // SUBSCRIBE timed out while Redis is down would not be renewed); ioredis re-subscribes after
  // reconnects.
  if (isCluster(client)) {
    const redisOptions = { ...client.options.redisOptions, commandTimeout: undefined }
    return client.duplicate([], { enableOfflineQueue: true, redisOptions })
  }
  return client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })
}

/**
 * Every key matching `pattern` (SCAN MATCH), one at a time. On a cluster each master is scanned
 * (keys live on the master owning their slot). Keys may repeat if they change during the scan.
 */
export async function * scanAll (client: RedisClient, pattern: string, count = 500): AsyncGenerator<string> {
  for (const node of await scanTargets(client)) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count)
      cursor = next
      yield * keys
    } while (cursor !== '0')
  }
}

/** Deletes every key matching `pattern` (UNLINK one key per command, so cluster slots never mix). */
export async function deleteMatching (client: RedisClient, pattern: string): Promise<number> {
  let deleted = 0
  for await (const key of scanAll(client, pattern)) deleted += await client.unlink(key)
  return deleted
}

async function scanTargets (client: RedisClient): Promise<Redis[]> {
  if (!isCluster(client)) return [client]
  if (client.status === 'wait') await client.connect()
  // The node list is known only once the cluster client is ready.
  if (client.status === 'connecting' || client.status === 'connect') {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve)
      client.once('end', () => reject(new Error('Redis Cluster connection ended before it was ready')))
    })
  }
  const masters = client.nodes('master')
  if (masters.length === 0) throw new Error(`Redis Cluster has no known master nodes (status: ${client.status})`)
  return masters
}

/** Username, password and TLS from the standalone URL, so one REDIS_URL carries cluster credentials too. */
function credentialsFromUrl (url: string): Partial<RedisOptions> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return {}
  }
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '' && db !== '0') {
    throw new Error(`Redis Cluster supports only database 0, but the URL selects database ${db}`)
  }
  return definedOnly({
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
  })
}

function definedOnly<T extends object> (obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, value]) => value !== undefined)) as T
}
