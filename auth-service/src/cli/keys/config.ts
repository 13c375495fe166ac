/**
 * What the keys CLI reads of the environment, through the auth service's own readers, so the
 * CLI and the service agree on KEYS_DIR, Redis and its prefix.
 * - KEYS_DIR, REDIS_URL, REDIS_PREFIX, REDIS_CLUSTER_NODES, REDIS_COMMAND_TIMEOUT: as the service.
 * - ACCESS_TOKEN_TTL + CLOCK_TOLERANCE: the default minimum age of a pruned key.
 * - GATEWAY_URLS: gateways asked besides the registry.
 */
import { resolve } from 'node:path'
import { DEFAULT_CLOCK_TOLERANCE_S } from '../../../../gateway/src/contract.js'
import { ConfigError, envReader, type Env } from '../../../../services/kernel/env.js'
import { DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_KEYS_DIR, redisSettings } from '../../config.js'

export interface KeysCliConfig {
  keysDir: string
  redisUrl: string
  redisPrefix: string
  redisClusterNodes?: string
  redisCommandTimeout: number
  /** Seconds. */
  accessTokenTtl: number
  clockTolerance: number
  gatewayUrls: string[]
}

export function loadKeysCliConfig (env: Env): KeysCliConfig {
  const r = envReader(env)
  const config: KeysCliConfig = {
    keysDir: resolve(r.str('KEYS_DIR', DEFAULT_KEYS_DIR)),
    ...redisSettings(r),
    accessTokenTtl: r.int('ACCESS_TOKEN_TTL', DEFAULT_ACCESS_TOKEN_TTL, 1, 24 * 3600),
    clockTolerance: r.num('CLOCK_TOLERANCE', DEFAULT_CLOCK_TOLERANCE_S, { max: 300 }),
    gatewayUrls: r.list('GATEWAY_URLS', ''),
  }
  for (const url of config.gatewayUrls) {
    const protocol = URL.canParse(url) ? new URL(url).protocol : ''
    if (protocol !== 'http:' && protocol !== 'https:') {
      r.problems.push(`GATEWAY_URLS entries must be http(s) URLs (got "${url}")`)
    }
  }
  r.done('keys CLI')
  return config
}

export { ConfigError }
