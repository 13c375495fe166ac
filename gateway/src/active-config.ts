/**
 * The configuration in force: one gateway file compiled into everything a request reads (rules,
 * their routing table, their rate limiters, the token check), held as one value and replaced in
 * one assignment.
 *
 * - a request reads `current` once, when it opens its session (pipeline/session.ts), and finishes
 *   on that value: a reload never changes the rules under a request in flight
 * - `compile` builds a new value off to the side and throws a ConfigError with the file's problems
 *   when it cannot; `swap` then puts it in force (ops/reload.ts does both)
 */
import { ConfigError } from '../../services/kernel/env.js'
import type { GatewayFile } from './gateway-file/index.js'
import type { KeyStore } from './keys/key-store.js'
import type { Authenticate } from './pipeline/authenticate.js'
import type { CompiledLimits } from './pipeline/rate-limits.js'
import { buildRouteTable, type RouteTable } from './route-table.js'
import type { Rule } from './rules.js'

export interface ActiveConfig {
  /** The file's version: a hash of its validated content (gateway-file/validate.ts). */
  readonly version: string
  readonly file: GatewayFile
  readonly table: RouteTable
  readonly limits: CompiledLimits
  readonly authenticate: Authenticate
  /** Each provider's key store, for readiness. */
  readonly providers: readonly ProviderKeysInUse[]
}

export interface ProviderKeysInUse { readonly id: string, readonly keys: KeyStore }

export interface TokenCheck { authenticate: Authenticate, providers: readonly ProviderKeysInUse[] }

export interface ConfigParts {
  rules: (file: GatewayFile) => readonly Rule[]
  limits: (rules: readonly Rule[]) => CompiledLimits
  authenticate: (file: GatewayFile) => TokenCheck
  /** After a swap: what the previous configuration alone used may go. */
  swapped?: (next: ActiveConfig) => void
}

export interface LiveConfig {
  readonly current: ActiveConfig
  /** Unix ms of the last swap (the start-up one included). */
  readonly appliedAt: number
  compile: (file: GatewayFile) => ActiveConfig
  swap: (next: ActiveConfig) => void
}

export function createLiveConfig (parts: ConfigParts, first: GatewayFile): LiveConfig {
  function compile (file: GatewayFile): ActiveConfig {
    const rules = parts.rules(file)
    let table: RouteTable
    try {
      table = buildRouteTable(rules, file.notFoundPrefixes)
    } catch (err) {
      throw new ConfigError('gateway file', [`routes: ${(err as Error).message}`])
    }
    const { authenticate, providers } = parts.authenticate(file)
    return Object.freeze({ version: file.version, file, table, limits: parts.limits(rules), authenticate, providers })
  }
  let current = compile(first)
  let appliedAt = Date.now()
  return {
    get current () { return current },
    get appliedAt () { return appliedAt },
    compile,
    swap (next) {
      current = next
      appliedAt = Date.now()
      parts.swapped?.(next)
    },
  }
}
