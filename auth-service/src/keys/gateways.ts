/**
 * Which gateways hold which kid, for `npm run keys -- rotate|status`. Gateways come from the
 * Redis registry (`${REDIS_PREFIX}gateways`, each gateway keeps its own entry fresh) and from
 * GATEWAY_URLS; each one is asked directly (GET /readyz lists the kids it holds). A registered
 * gateway that does not answer is judged by the kids in its (unexpired) registry entry.
 */
import type { RedisClient } from '../../../services/kernel/redis.js'
import { GATEWAY_REGISTRY, parseGatewayRegistryEntry } from '../../../gateway/src/contract.js'

export interface GatewayStatus {
  /** Registry instance id, or the URL for GATEWAY_URLS entries. */
  id: string
  url: string
  source: 'registry' | 'GATEWAY_URLS'
  /** kids held; null when unknown (not answering and no registry entry). */
  kids: string[] | null
  via: 'readyz' | 'registry' | null
  /** Why /readyz could not be read. */
  error?: string
}

export interface Discovery {
  gateways: GatewayStatus[]
  /** Set when the registry could not be read (Redis down): gateways may be missing. */
  registryError?: string
}

export interface DiscoverOptions {
  redis: RedisClient | null
  prefix: string
  urls: string[]
}

const READYZ_TIMEOUT_MS = 2000

/** kids from a gateway's /readyz body: `kids: [{ kid, ageSeconds }]` (gateway/src/health.ts). */
export function kidsFromReadyz (body: unknown): string[] | null {
  const list = (body as { kids?: unknown } | null)?.kids
  if (!Array.isArray(list)) return null
  return list.map((k) => (k as { kid?: unknown } | null)?.kid).filter((k): k is string => typeof k === 'string')
}

async function askGateway (url: string): Promise<{ kids: string[] } | { error: string }> {
  try {
    // /readyz answers 503 while not ready but still lists the kids it holds.
    const res = await fetch(`${url.replace(/\/+$/, '')}/readyz`,
      { signal: AbortSignal.timeout(READYZ_TIMEOUT_MS), headers: { accept: 'application/json' } })
    const kids = kidsFromReadyz(await res.json().catch(() => null))
    return kids === null ? { error: `GET /readyz answered ${res.status} without a kids list` } : { kids }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string, message?: string } }
    return { error: e.cause?.code ?? e.cause?.message ?? e.message }
  }
}

export async function discoverGateways (opts: DiscoverOptions): Promise<Discovery> {
  const now = Date.now()
  const found: Array<Omit<GatewayStatus, 'via' | 'kids'> & { registryKids?: string[] }> = []
  let registryError: string | undefined
  if (opts.redis) {
    try {
      const all = await opts.redis.hgetall(GATEWAY_REGISTRY.key(opts.prefix))
      for (const raw of Object.values(all)) {
        const entry = parseGatewayRegistryEntry(raw)
        if (entry && entry.expiresAt > now) {
          found.push({ id: entry.id, url: entry.url, source: 'registry', registryKids: entry.kids })
        }
      }
    } catch (err) {
      registryError = (err as Error).message
    }
  } else {
    registryError = 'Redis not reachable'
  }
  for (const url of opts.urls) {
    const norm = url.replace(/\/+$/, '')
    if (!found.some((g) => g.url.replace(/\/+$/,
      '') === norm)) found.push({ id: norm, url: norm, source: 'GATEWAY_URLS' })
  }
  found.sort((a, b) => a.id.localeCompare(b.id))
  const gateways = await Promise.all(found.map(async ({ registryKids, ...g }): Promise<GatewayStatus> => {
    const answer = await askGateway(g.url)
    if ('kids' in answer) return { ...g, kids: answer.kids, via: 'readyz' }
    if (registryKids) return { ...g, kids: registryKids, via: 'registry', error: answer.error }
    return { ...g, kids: null, via: null, error: answer.error }
  }))
  return registryError === undefined ? { gateways } : { gateways, registryError }
}
