/**
 * The gateway's contract with downstream services: the identity headers it alone sets.
 * A leaf module (no fastify): services import it by relative path.
 */

export const IDENTITY_HEADERS = {
  subject: 'x-user-id',
  roles: 'x-user-roles',
  session: 'x-session-id',
  requestId: 'x-request-id',
  /** The gateway's signed identity assertion (IDENTITY_ASSERTION below). */
  assertion: 'x-identity-token',
} as const

/** The identity the gateway derives from a verified access token. */
export interface Identity {
  subject: string
  roles: string[]
  session: string
}

/**
 * Client headers that could pose as identity: `x-user-*`, `x-session-id` and `x-identity-token`,
 * in any case, `_` for `-`.
 */
export function isIdentityHeaderName (name: string): boolean {
  const folded = name.toLowerCase().replaceAll('_', '-')
  return folded.startsWith('x-user-') || folded === 'x-session-id' || folded === IDENTITY_HEADERS.assertion
}

export function formatRoles (roles: readonly string[]): string {
  return roles.join(',')
}

export function parseRoles (value: string | undefined): string[] {
  if (!value) return []
  return value.split(',').map((r) => r.trim()).filter((r) => r.length > 0)
}

/** A request id we keep from the client: short, and plain characters only. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The gateway registry in Redis, read by `npm run keys -- rotate|status`: a hash at
 * `GATEWAY_REGISTRY.key(prefix)`, one field per gateway instance (its id), the value a
 * GatewayRegistryEntry (JSON). Each gateway rewrites its entry every GATEWAY_REGISTRY_INTERVAL;
 * readers ignore entries past `expiresAt` (a gateway that died without deregistering).
 */
export const GATEWAY_REGISTRY = {
  key: (prefix: string) => `${prefix}gateways`,
} as const

export interface GatewayRegistryEntry {
  id: string
  /** Base URL where the gateway answers GET /readyz (which lists the kids it holds). */
  url: string
  /** kids held when the entry was written. */
  kids: string[]
  /** ms epoch. */
  updatedAt: number
  expiresAt: number
}

export function parseGatewayRegistryEntry (raw: string): GatewayRegistryEntry | null {
  let value: unknown
  try { value = JSON.parse(raw) } catch { return null }
  if (typeof value !== 'object' || value === null) return null
  const e = value as Record<string, unknown>
  if (typeof e.id !== 'string' || typeof e.url !== 'string' || !Array.isArray(e.kids)) return null
  if (!e.kids.every((k) => typeof k === 'string')) return null
  if (typeof e.updatedAt !== 'number' || typeof e.expiresAt !== 'number') return null
  return { id: e.id, url: e.url, kids: e.kids as string[], updatedAt: e.updatedAt, expiresAt: e.expiresAt }
}

/**
 * Seconds of clock skew the gateway accepts on `exp`, `nbf` and `iat` by default
 * (`CLOCK_TOLERANCE`); the keys CLI waits this long past a token's life before pruning a key.
 */
export const DEFAULT_CLOCK_TOLERANCE_S = 5

/**
 * The identity assertion (CONTRACT "Identity assertion to upstreams"): a JWT the gateway signs
 * with its own key pair and sends upstream as `x-identity-token`, so a service can tell a
 * request that came through the gateway from one that went around it.
 *
 * - header: `alg` ES256, `kid`, `typ` IDENTITY_ASSERTION.typ
 * - claims: `iss` (GATEWAY_ISSUER), `aud` the route id, `sub`, `sid`, `roles`, `iat`, `jti`,
 *   `exp` at most `maxTtlS` after `iat` and never after the access token's own `exp`
 * - public keys: GET `jwksPath` on the gateway itself
 */
export const IDENTITY_ASSERTION = {
  header: IDENTITY_HEADERS.assertion,
  alg: 'ES256',
  typ: 'identity+jwt',
  defaultIssuer: 'urn:jwt-edge:gateway',
  maxTtlS: 60,
  jwksPath: '/.well-known/gateway-jwks.json',
} as const

/** What a verified assertion carries (its registered claims included). */
export interface IdentityAssertionClaims {
  iss: string
  aud: string
  sub: string
  sid: string
  roles: string[]
  iat: number
  exp: number
  jti: string
}
