/**
 * `rotate [--wait S] [--force]`: next → active, active → retiring, a new next key.
 * - Only once every gateway holds the next kid (a gateway meeting an unknown kid answers 401);
 *   --wait polls up to S seconds, --force skips the check and says what it skipped.
 * - Refuses too when no gateway can be found at all (registry unreadable, GATEWAY_URLS empty).
 */
import { setTimeout } from 'node:timers/promises'
import type { Discovery, GatewayStatus } from '../../keys/gateways.js'
import { readManifest } from '../../keys/manifest.js'
import { rotateKeys } from '../../keys/rotation.js'
import type { KeysCommandContext } from './context.js'
import { describeGateway, secondsFlag } from './format.js'
import { showKeys } from './list.js'

const POLL_MS = 500

export async function rotate (ctx: KeysCommandContext, args: string[]): Promise<number> {
  const { dir, io } = ctx
  const force = args.includes('--force')
  const waitS = secondsFlag(args, '--wait') ?? 0
  const manifest = await readManifest(dir)
  const next = manifest?.keys.find((k) => k.state === 'next')
  if (!manifest || !next) throw new Error(`${dir}: no pre-published next key; run "npm run keys -- init" first`)
  const found = await waitForGateways(ctx, next.kid, force ? 0 : waitS)
  const lacking = found.gateways.filter((g) => !g.kids?.includes(next.kid))
  const why = problems(found, lacking, next.kid)
  if (why.length > 0 && !force) {
    io.err([`refusing to rotate: ${why[0]}`, ...why.slice(1),
      'Gateways fetch the JWKS every JWKS_REFRESH_INTERVAL; ' +
        'retry later, pass --wait SECONDS, or --force in an emergency.',
    ].join('\n'))
    return 1
  }
  if (why.length > 0) {
    io.err([`--force: skipped the gateway check: ${why[0]}`, ...why.slice(1),
      'Those gateways answer 401 to tokens of the new key until they refetch the JWKS ' +
        '(the keys message asks them to now).',
    ].join('\n'))
  } else if (found.gateways.length === 0) {
    io.out('no gateway registered: nothing to wait for')
  } else {
    io.out(`all ${found.gateways.length} gateway(s) hold the next key ${next.kid}`)
  }
  const after = await rotateKeys(dir)
  io.out(`rotated: ${next.kid} signs now; ${after.keys.find((k) => k.state === 'next')!.kid} is the new next key`)
  await ctx.publish('rotate', after.keys)
  await showKeys(ctx, false)
  return 0
}

const blind = (found: Discovery) => found.registryError !== undefined && found.gateways.length === 0

/** Discovers until every gateway holds `kid` or `waitS` has passed (0: once). */
async function waitForGateways (ctx: KeysCommandContext, kid: string, waitS: number): Promise<Discovery> {
  const deadline = Date.now() + waitS * 1000
  for (;;) {
    const found = await ctx.discover()
    const ready = found.gateways.every((g) => g.kids?.includes(kid)) && !blind(found)
    if (ready || Date.now() >= deadline) return found
    await setTimeout(POLL_MS)
  }
}

/** Why rotating now is unsafe, first line the reason; empty when it is safe. */
function problems (found: Discovery, lacking: GatewayStatus[], kid: string): string[] {
  if (blind(found)) return [`cannot find the gateways (registry: ${found.registryError}; GATEWAY_URLS empty)`]
  if (lacking.length === 0) return []
  const holds = (g: GatewayStatus) =>
    g.kids === null ? `no answer (${g.error})` : `holds ${g.kids.join(', ') || 'no keys'}`
  return [`${lacking.length} of ${found.gateways.length} gateway(s) do not hold the next key ${kid} yet:`,
    ...lacking.map((g) => `  ${describeGateway(g)}: ${holds(g)}`)]
}
