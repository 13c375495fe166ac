/**
 * Argument parsing and output formatting shared by the keys commands.
 */
import type { GatewayStatus } from '../../keys/gateways.js'
import type { Manifest } from '../../keys/manifest.js'

/** A bad command line: the message, then the usage, exit 2. */
export class UsageError extends Error {}

/** The number of seconds after `flag`, or undefined when the flag is absent. */
export function secondsFlag (args: string[], flag: string): number | undefined {
  const i = args.indexOf(flag)
  if (i === -1) return undefined
  const raw = args[i + 1]
  if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`${flag} needs a number of seconds`)
  return Number(raw)
}

export function age (iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-'
  const s = Math.round((now - Date.parse(iso)) / 1000)
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86400)}d`
}

export const describeGateway = (g: GatewayStatus) => `${g.id}${g.id === g.url ? '' : ` (${g.url})`}`

export function stateOf (m: Manifest, kid: string): string {
  const k = m.keys.find((e) => e.kid === kid)
  return k ? ` (${k.state})` : ' (not in keys/)'
}
