/**
 * `npm run keys -- <command>` (scripts/keys.ts is the entry point; tests call runKeysCli):
 *   init                         active + pre-published next key + secrets.json (idempotent)
 *   list | status                kids, states, ages, and which gateways hold which kid
 *   rotate [--wait S] [--force]  next → active, active → retiring, new next; only once every
 *                                gateway holds the next kid (--wait polls up to S seconds;
 *                                --force skips the check and says what it skipped)
 *   prune [--older-than S] [--force]
 *                                drop retiring keys retired ≥ S s ago (default ACCESS_TOKEN_TTL +
 *                                CLOCK_TOLERANCE); refuses when none is old enough unless --force
 * After rotate/prune a KeysChangedMessage goes out on `${REDIS_PREFIX}keys`: gateways refetch
 * the JWKS and auth instances reload keys/ at once.
 */
import { resolve } from 'node:path'
import { DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_KEYS_DIR, DEFAULT_REDIS_COMMAND_TIMEOUT } from '../config.js'
import { DEFAULT_REDIS_PREFIX, KEYS_EVENTS, type KeysChangedMessage } from '../contract.js'
import { DEFAULT_CLOCK_TOLERANCE_S } from '../../../gateway/src/contract.js'
import { createRedisClient, type RedisClient } from '../redis.js'
import { discoverGateways, type Discovery, type GatewayStatus } from './gateways.js'
import { initKeyring } from './keyring.js'
import { readManifest, type KeyEntry, type Manifest } from './manifest.js'
import { pruneKeys, retiredAge, rotateKeys } from './rotation.js'

export const USAGE = 'usage: npm run keys -- <init | list | status | rotate [--wait SECONDS] [--force] | prune [--older-than SECONDS] [--force]>'

export interface KeysCliIo {
  env: Record<string, string | undefined>
  out: (line: string) => void
  err: (line: string) => void
}

class UsageError extends Error {}

function seconds (args: string[], flag: string): number | undefined {
  const i = args.indexOf(flag)
  if (i === -1) return undefined
  const raw = args[i + 1]
  if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`${flag} needs a number of seconds`)
  return Number(raw)
}

function age (iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-'
  const s = Math.round((now - Date.parse(iso)) / 1000)
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86400)}d`
}

const describe = (g: GatewayStatus) => `${g.id}${g.id === g.url ? '' : ` (${g.url})`}`

export async function runKeysCli (args: string[], io: KeysCliIo): Promise<number> {
  const [command, ...rest] = args
  const env = io.env
  const dir = resolve(env.KEYS_DIR || DEFAULT_KEYS_DIR)
  const prefix = env.REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX
  const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379'
  let redis: RedisClient | null | undefined

  /** Redis for the registry and the keys channel; null when it does not answer (reported, not fatal). */
  async function getRedis (): Promise<RedisClient | null> {
    if (redis !== undefined) return redis
    const client = createRedisClient(redisUrl, DEFAULT_REDIS_COMMAND_TIMEOUT, env.REDIS_CLUSTER_NODES)
    client.on('error', () => {})
    try {
      await client.connect()
      redis = client
    } catch (err) {
      io.err(`note: Redis at ${redisUrl} not reachable (${(err as Error).message}): no gateway registry, no keys message`)
      client.disconnect()
      redis = null
    }
    return redis
  }

  function gatewayUrls (): string[] {
    const list = (env.GATEWAY_URLS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)
    for (const u of list) {
      let ok = false
      try { ok = ['http:', 'https:'].includes(new URL(u).protocol) } catch {}
      if (!ok) throw new UsageError(`GATEWAY_URLS entries must be http(s) URLs (got "${u}")`)
    }
    return list
  }

  async function discover (): Promise<Discovery> {
    return await discoverGateways({ redis: await getRedis(), prefix, urls: gatewayUrls() })
  }

  async function publish (action: KeysChangedMessage['action'], keys: KeyEntry[]): Promise<void> {
    const client = await getRedis()
    const channel = KEYS_EVENTS.channel(prefix)
    if (!client) {
      io.err('keys message not sent: gateways pick the change up within JWKS_REFRESH_INTERVAL, auth instances on their file watch or KEYS_RELOAD_INTERVAL')
      return
    }
    const message: KeysChangedMessage = {
      type: 'keys_changed',
      action,
      active: keys.find((k) => k.state === 'active')?.kid ?? '',
      published: keys.map((k) => k.kid),
      at: Date.now(),
    }
    const receivers = await client.publish(channel, JSON.stringify(message))
    io.out(`published keys_changed on ${channel} (${receivers} subscriber${receivers === 1 ? '' : 's'})`)
  }

  async function list (withGateways: boolean): Promise<void> {
    const manifest = await readManifest(dir)
    if (!manifest) {
      io.out(`no keys in ${dir} (run: npm run keys -- init)`)
      return
    }
    const found = withGateways ? await discover() : { gateways: [] }
    const answering = found.gateways.filter((g) => g.kids !== null)
    io.out(`keys in ${dir}`)
    io.out(['kid'.padEnd(44), 'state'.padEnd(9), 'age'.padEnd(6), 'in state'.padEnd(9), 'gateways holding'].join(' '))
    for (const k of manifest.keys) {
      const since = k.state === 'retiring' ? k.retiredAt : k.state === 'active' ? k.activatedAt : k.createdAt
      const holding = withGateways ? `${answering.filter((g) => g.kids!.includes(k.kid)).length}/${found.gateways.length}` : '-'
      io.out([k.kid.padEnd(44), k.state.padEnd(9), age(k.createdAt).padEnd(6), age(since).padEnd(9), holding].join(' '))
    }
    if (!withGateways) return
    if (found.registryError) io.out(`gateway registry unavailable: ${found.registryError}`)
    io.out(found.gateways.length === 0 ? 'no gateways registered (and GATEWAY_URLS empty)' : `gateways (${found.gateways.length}):`)
    for (const g of found.gateways) {
      const kids = g.kids === null ? `unknown: ${g.error}` : `holds ${g.kids.map((kid) => `${kid}${stateOf(manifest, kid)}`).join(', ') || 'no keys'}`
      io.out(`  ${describe(g)} [${g.source}${g.via === 'registry' ? `, /readyz failed (${g.error}), registry entry used` : ''}] ${kids}`)
    }
  }

  const stateOf = (m: Manifest, kid: string) => {
    const k = m.keys.find((e) => e.kid === kid)
    return k ? ` (${k.state})` : ' (not in keys/)'
  }

  async function rotate (): Promise<number> {
    const force = rest.includes('--force')
    const waitS = seconds(rest, '--wait') ?? 0
    const manifest = await readManifest(dir)
    const next = manifest?.keys.find((k) => k.state === 'next')
    if (!manifest || !next) throw new Error(`${dir}: no pre-published next key; run "npm run keys -- init" first`)
    const deadline = Date.now() + waitS * 1000
    let lacking: GatewayStatus[]
    let found: Discovery
    for (;;) {
      found = await discover()
      lacking = found.gateways.filter((g) => !g.kids?.includes(next.kid))
      const blind = found.registryError !== undefined && found.gateways.length === 0
      if ((lacking.length === 0 && !blind) || force || Date.now() >= deadline) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const blind = found.registryError !== undefined && found.gateways.length === 0
    if (lacking.length > 0 || blind) {
      const why = blind
        ? [`cannot find the gateways (registry: ${found.registryError}; GATEWAY_URLS empty)`]
        : [`${lacking.length} of ${found.gateways.length} gateway(s) do not hold the next key ${next.kid} yet:`,
            ...lacking.map((g) => `  ${describe(g)}: ${g.kids === null ? `no answer (${g.error})` : `holds ${g.kids.join(', ') || 'no keys'}`}`)]
      if (!force) {
        io.err([`refusing to rotate: ${why[0]}`, ...why.slice(1),
          'Gateways fetch the JWKS every JWKS_REFRESH_INTERVAL; retry later, pass --wait SECONDS, or --force in an emergency.'].join('\n'))
        return 1
      }
      io.err([`--force: skipped the gateway check: ${why[0]}`, ...why.slice(1),
        'Those gateways answer 401 to tokens of the new key until they refetch the JWKS (the keys message asks them to now).'].join('\n'))
    } else if (found.gateways.length === 0) {
      io.out('no gateway registered: nothing to wait for')
    } else {
      io.out(`all ${found.gateways.length} gateway(s) hold the next key ${next.kid}`)
    }
    const after = await rotateKeys(dir)
    io.out(`rotated: ${next.kid} signs now; ${after.keys.find((k) => k.state === 'next')!.kid} is the new next key`)
    await publish('rotate', after.keys)
    await list(false)
    return 0
  }

  async function prune (): Promise<number> {
    const ttl = Number(env.ACCESS_TOKEN_TTL || DEFAULT_ACCESS_TOKEN_TTL)
    const tolerance = Number(env.CLOCK_TOLERANCE || DEFAULT_CLOCK_TOLERANCE_S)
    if (!Number.isFinite(ttl) || !Number.isFinite(tolerance)) throw new UsageError('ACCESS_TOKEN_TTL and CLOCK_TOLERANCE must be numbers of seconds')
    const minAge = seconds(rest, '--older-than') ?? ttl + tolerance
    const force = rest.includes('--force')
    const { removed, kept, deferred } = await pruneKeys(dir, minAge, { force })
    if (force && removed.length > 0) io.err(`--force: pruned without waiting ${minAge} s; every token signed by ${removed.map((k) => k.kid).join(', ')} is now rejected`)
    io.out(removed.length ? `pruned ${removed.map((k: KeyEntry) => k.kid).join(', ')}` : 'nothing to prune')
    for (const k of deferred) io.out(`kept ${k.kid}: retired ${Math.round(retiredAge(k))} s ago, prunable in ${Math.ceil(minAge - retiredAge(k))} s`)
    if (removed.length > 0) await publish('prune', kept)
    await list(false)
    return 0
  }

  try {
    if (command === 'init') {
      await initKeyring(dir)
      await list(false)
      return 0
    }
    if (command === 'list' || command === 'status') {
      await list(true)
      return 0
    }
    if (command === 'rotate') return await rotate()
    if (command === 'prune') return await prune()
    io.err(USAGE)
    return 2
  } catch (err) {
    io.err((err as Error).message)
    if (err instanceof UsageError) io.err(USAGE)
    return err instanceof UsageError ? 2 : 1
  } finally {
    if (redis) redis.disconnect()
  }
}
