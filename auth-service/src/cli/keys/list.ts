/**
 * `list` and `status` (the same command): kids, states, ages, and which gateways hold which kid.
 */
import { readManifest } from '../../keys/manifest.js'
import type { KeysCommandContext } from './context.js'
import { age, describeGateway, stateOf } from './format.js'

export async function status (ctx: KeysCommandContext): Promise<number> {
  await showKeys(ctx, true)
  return 0
}

/** The key table; with `withGateways`, also how many gateways hold each kid and what each holds. */
export async function showKeys (ctx: KeysCommandContext, withGateways: boolean): Promise<void> {
  const { dir, io } = ctx
  const manifest = await readManifest(dir)
  if (!manifest) {
    io.out(`no keys in ${dir} (run: npm run keys -- init)`)
    return
  }
  const found = withGateways ? await ctx.discover() : { gateways: [] }
  const answering = found.gateways.filter((g) => g.kids !== null)
  io.out(`keys in ${dir}`)
  io.out(['kid'.padEnd(44), 'state'.padEnd(9), 'age'.padEnd(6), 'in state'.padEnd(9), 'gateways holding'].join(' '))
  for (const k of manifest.keys) {
    const since = k.state === 'retiring' ? k.retiredAt : k.state === 'active' ? k.activatedAt : k.createdAt
    const holding = withGateways
      ? `${answering.filter((g) => g.kids!.includes(k.kid)).length}/${found.gateways.length}`
      : '-'
    io.out([k.kid.padEnd(44), k.state.padEnd(9), age(k.createdAt).padEnd(6), age(since).padEnd(9), holding].join(' '))
  }
  if (!withGateways) return
  if (found.registryError) io.out(`gateway registry unavailable: ${found.registryError}`)
  const count = found.gateways.length
  io.out(count === 0 ? 'no gateways registered (and GATEWAY_URLS empty)' : `gateways (${count}):`)
  for (const g of found.gateways) {
    const held = g.kids?.map((kid) => `${kid}${stateOf(manifest, kid)}`).join(', ')
    const kids = g.kids === null ? `unknown: ${g.error}` : `holds ${held || 'no keys'}`
    const via = g.via === 'registry' ? `, /readyz failed (${g.error}), registry entry used` : ''
    io.out(`  ${describeGateway(g)} [${g.source}${via}] ${kids}`)
  }
}
