/**
 * `prune [--older-than S] [--force]`: drops retiring keys retired at least S seconds ago.
 * - S defaults to ACCESS_TOKEN_TTL + CLOCK_TOLERANCE: no live token can need such a key.
 * - Refuses when none is old enough, unless --force (which drops every retiring key).
 */
import type { KeyEntry } from '../../keys/manifest.js'
import { pruneKeys, retiredAge } from '../../keys/rotation.js'
import type { KeysCommandContext } from './context.js'
import { secondsFlag } from './format.js'
import { showKeys } from './list.js'

export async function prune (ctx: KeysCommandContext, args: string[]): Promise<number> {
  const { io, config } = ctx
  const minAge = secondsFlag(args, '--older-than') ?? config.accessTokenTtl + config.clockTolerance
  const force = args.includes('--force')
  const { removed, kept, deferred } = await pruneKeys(ctx.dir, minAge, { force })
  const kids = (keys: KeyEntry[]) => keys.map((k) => k.kid).join(', ')
  if (force && removed.length > 0) {
    io.err(`--force: pruned without waiting ${minAge} s; every token signed by ${kids(removed)} is now rejected`)
  }
  io.out(removed.length ? `pruned ${kids(removed)}` : 'nothing to prune')
  for (const k of deferred) {
    const retired = retiredAge(k)
    io.out(`kept ${k.kid}: retired ${Math.round(retired)} s ago, prunable in ${Math.ceil(minAge - retired)} s`)
  }
  if (removed.length > 0) await ctx.publish('prune', kept)
  await showKeys(ctx, false)
  return 0
}
