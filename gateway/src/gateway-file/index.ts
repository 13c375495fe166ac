/**
 * The gateway file (GATEWAY_CONFIG), from path to the compiled model: read → parse →
 * interpolate `${VAR}` → validate. The one entry for start-up, reload and config:check.
 */
import type { Env } from '../../../services/kernel/env.js'
import { interpolate } from './interpolate.js'
import { parseGatewayFile, readGatewayFile } from './read.js'
import { validateGatewayFile, type GatewayFile, type ProviderSpec, type Validated } from './validate.js'

export type { GatewayFile, ProviderSpec, RateLimitSpec, RouteSpec, Validated } from './validate.js'

/** The demo stack's file, relative to the working directory (npm start and compose run from the repo root). */
export const DEFAULT_GATEWAY_FILE = 'gateway/gateway.yaml'

export async function loadGatewayFile (path: string, env: Env): Promise<Validated> {
  const read = await readGatewayFile(path)
  if (!read.ok) return read
  return compileGatewayText(read.text, path, env)
}

/** The same, from text already read (tests, and a reload that read the file itself). */
export function compileGatewayText (text: string, path: string, env: Env): Validated {
  const parsed = parseGatewayFile(text, path)
  if (!parsed.ok) return parsed
  const { value, problems } = interpolate(parsed.value, env)
  if (problems.length > 0) return { ok: false, problems }
  return validateGatewayFile(value)
}

/** The file's one provider in this version (validation refuses any other): the local auth service. */
export function localProvider (file: GatewayFile): ProviderSpec {
  const provider = file.providers.find((p) => p.revocation)
  if (provider?.jwksUrl === undefined) throw new Error('the gateway file has no local provider with a jwksUrl')
  return provider
}
