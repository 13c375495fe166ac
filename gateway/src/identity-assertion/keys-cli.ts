/**
 * `npm run keys -- <init | list | rotate | prune [--older-than S] [--force]> --gateway`: the
 * gateway's own signing keys (GATEWAY_KEYS_DIR), as scripts/keys.ts dispatches them.
 *
 * - rotate: the pre-published next key signs; running gateways pick it up within
 *   GATEWAY_KEYS_RELOAD_INTERVAL; services meeting the new kid refetch the gateway JWKS (they
 *   have usually fetched it already: it was published as `next`)
 * - prune: retiring keys retired at least S seconds ago (default: the longest assertion life,
 *   60 s, plus CLOCK_TOLERANCE); --force drops every retiring key (after a leak)
 * - exit codes: 0 done, 1 failed, 2 usage
 */
import { ConfigError } from '../../../services/kernel/env.js'
import { loadGatewayKeysConfig } from '../config.js'
import { IDENTITY_ASSERTION } from '../contract.js'
import {
  initGatewayKeys, pruneGatewayKeys, readGatewayManifest, rotateGatewayKeys, type GatewayKeyManifest,
} from './key-files.js'

export const GATEWAY_KEYS_USAGE =
  'usage: npm run keys -- <init | list | rotate | prune [--older-than SECONDS] [--force]> --gateway'

export interface GatewayKeysCliIo {
  env: Readonly<Record<string, string | undefined>>
  out: (line: string) => void
  err: (line: string) => void
}

function show (io: GatewayKeysCliIo, dir: string, manifest: GatewayKeyManifest | null): void {
  if (!manifest) { io.out(`no gateway keys in ${dir} (run: npm run keys -- init --gateway)`); return }
  io.out(`gateway keys in ${dir}`)
  for (const k of manifest.keys) {
    const since = k.state === 'retiring' ? k.retiredAt : k.state === 'active' ? k.activatedAt : k.createdAt
    io.out(`${k.kid.padEnd(44)} ${k.state.padEnd(9)} since ${since}`)
  }
}

function olderThan (args: string[]): number | undefined {
  const i = args.indexOf('--older-than')
  if (i === -1) return undefined
  const value = Number(args[i + 1])
  if (!Number.isFinite(value) || value < 0) throw new ConfigError('gateway keys CLI', ['--older-than needs seconds'])
  return value
}

export async function runGatewayKeysCli (args: string[], io: GatewayKeysCliIo): Promise<number> {
  const [command, ...rest] = args
  try {
    const { keysDir: dir, clockToleranceS } = loadGatewayKeysConfig(io.env)
    switch (command) {
      case 'init':
        show(io, dir, await initGatewayKeys(dir))
        return 0
      case 'list':
      case 'status':
        show(io, dir, await readGatewayManifest(dir))
        return 0
      case 'rotate': {
        const after = await rotateGatewayKeys(dir)
        const active = after.keys.find((k) => k.state === 'active')!.kid
        io.out(`rotated: ${active} signs identity assertions once gateways reload (GATEWAY_KEYS_RELOAD_INTERVAL); ` +
          'the previous key stays published until pruned')
        show(io, dir, after)
        return 0
      }
      case 'prune': {
        const minAge = olderThan(rest) ?? IDENTITY_ASSERTION.maxTtlS + clockToleranceS
        const { removed, kept } = await pruneGatewayKeys(dir, minAge, { force: rest.includes('--force') })
        io.out(removed.length > 0 ? `pruned ${removed.map((k) => k.kid).join(', ')}` : 'nothing to prune')
        show(io, dir, { version: 1, keys: kept })
        return 0
      }
      default:
        io.err(GATEWAY_KEYS_USAGE)
        return 2
    }
  } catch (err) {
    io.err((err as Error).message)
    if (err instanceof ConfigError) { io.err(GATEWAY_KEYS_USAGE); return 2 }
    return 1
  }
}
