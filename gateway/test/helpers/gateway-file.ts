/**
 * The shipped gateway file (gateway/gateway.yaml) compiled for a test's GatewayConfig: its
 * ${VAR} placeholders get the config's URLs, issuer, audience and rate limits, the way
 * server.ts gives it process.env. Tests of other files write their own (compileGatewayText).
 */
import { readFileSync } from 'node:fs'
import type { GatewayConfig } from '../../src/config.js'
import { compileGatewayText, DEFAULT_GATEWAY_FILE, type GatewayFile } from '../../src/gateway-file/index.js'

const SHIPPED = new URL('../../gateway.yaml', import.meta.url)

/** The environment the shipped file reads, from a config (the variables loadConfig read them from). */
export function envOfConfig (config: Readonly<GatewayConfig>): Record<string, string> {
  return {
    AUTH_URL: config.authUrl,
    ORDERS_URL: config.ordersUrl,
    USERS_URL: config.usersUrl,
    PAYMENTS_URL: config.paymentsUrl,
    WEB_URL: config.webUrl,
    JWKS_URL: config.jwksUrl,
    JWT_ISSUER: config.issuer,
    JWT_AUDIENCE: config.audience,
    RATE_LIMIT_AUTH: String(config.rateLimitAuth),
    RATE_LIMIT_API: String(config.rateLimitApi),
  }
}

export function compileFile (text: string, path: string, env: Record<string, string | undefined>): GatewayFile {
  const r = compileGatewayText(text, path, env)
  if (!r.ok) throw new Error(`${path}:\n  - ${r.problems.join('\n  - ')}`)
  return r.file
}

export function shippedGatewayFile (config: Readonly<GatewayConfig>): GatewayFile {
  return compileFile(readFileSync(SHIPPED, 'utf8'), DEFAULT_GATEWAY_FILE, envOfConfig(config))
}
