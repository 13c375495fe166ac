/**
 * Checks a parsed, interpolated gateway file against the schema and the rules a schema cannot
 * state, and compiles it into the normalised model (every default filled in, frozen). Every
 * problem is reported at once, each with its place: `routes[2].roles.DELETE: ...`.
 */
import { createHash } from 'node:crypto'
import { Value } from 'typebox/value'
import { formatPath, pointerToPath, type Path } from './path.js'
import {
  GatewayFileSchema, HTTP_METHODS, type GatewayFileEntries, type ProviderEntry, type RouteEntry,
} from './schema.js'

export type HttpMethod = typeof HTTP_METHODS[number]
export type AuthMode = 'required' | 'optional' | 'none'
export type CsrfPolicy = 'double-submit' | 'origin' | 'none'
/** What the upstream is told of the caller: identity headers, the signed assertion, or both. */
export type IdentityMode = 'both' | 'headers' | 'assertion'

export interface ProviderSpec {
  id: string
  issuer: string
  audience: readonly string[]
  jwksUrl?: string
  discovery: boolean
  algorithms: ReadonlyArray<'RS256' | 'ES256'>
  subjectClaim: string
  rolesClaim: string
  clockToleranceS?: number
  /** This project's auth service: every rule of the contract's Tokens section, and revocation. */
  revocation: boolean
}

export interface RateLimitSpec {
  key: 'user' | 'ip'
  perMinute: number
  /** Counted methods; empty: every method. */
  methods: readonly HttpMethod[]
  /** Counted paths (under the prefix), each with its own counter; empty: the whole route, one counter. */
  paths: readonly string[]
  /** Routes with the same bucket share one counter. */
  bucket: string
}

/** A route's WebSocket limits (rules.ts fills the defaults). */
export interface WebSocketSpec {
  maxMessageBytes?: number
  maxBufferedBytes?: number
}

export interface RouteSpec {
  id: string
  prefix: string
  exact: boolean
  methods: readonly HttpMethod[]
  upstream: string
  rewritePrefix: string
  auth: AuthMode
  providers: readonly string[]
  roles: Readonly<Record<string, readonly string[]>>
  rateLimit: RateLimitSpec | null
  csrf: CsrfPolicy
  forwardCredentials: boolean
  timeoutMs?: number
  bodyLimit?: number
  identity: IdentityMode
  /** WebSocket upgrades proxied, with these limits; null: an upgrade is refused. */
  websocket: WebSocketSpec | null
  idleTimeoutMs?: number
  maxLifetimeMs?: number
}

export interface GatewayFile {
  /** A short hash of the compiled file: what /readyz reports and a reload compares. */
  version: string
  providers: readonly ProviderSpec[]
  routes: readonly RouteSpec[]
  notFoundPrefixes: readonly string[]
}

export type Validated = { ok: true, file: GatewayFile } | { ok: false, problems: string[] }

/** The gateway's own paths: no route may take them. */
export const RESERVED_PREFIXES = ['/healthz', '/readyz', '/metrics', '/.well-known/gateway-jwks.json'] as const
/** Methods a route takes when it names none (OPTIONS is the gateway's: CORS preflight). */
export const DEFAULT_METHODS: readonly HttpMethod[] = HTTP_METHODS.filter((m) => m !== 'OPTIONS')

export function validateGatewayFile (value: unknown): Validated {
  const schemaProblems = schemaErrors(value)
  if (schemaProblems.length > 0) return { ok: false, problems: schemaProblems }
  const entries = value as GatewayFileEntries
  const problems: string[] = []
  const at = (path: Path, text: string) => problems.push(`${formatPath(path)}: ${text}`)
  const providers = entries.providers.map((p, i) => provider(p, ['providers', i], at))
  checkProviders(providers, at)
  const routes = entries.routes.map((r, i) => route(r, ['routes', i], new Set(providers.map((p) => p.id)), at))
  checkOverlaps(routes, at)
  checkBuckets(routes, at)
  const notFoundPrefixes = [...new Set(entries.notFoundPrefixes ?? [])]
  checkNotFoundPrefixes(notFoundPrefixes, routes, at)
  if (problems.length > 0) return { ok: false, problems }
  const body = { providers, routes, notFoundPrefixes }
  const version = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12)
  return { ok: true, file: deepFreeze({ version, ...body }) }
}

function schemaErrors (value: unknown): string[] {
  const errors = [...Value.Errors(GatewayFileSchema, value)]
  // A failed union shows as an anyOf error, or (when Value.Errors cuts it short) as one
  // const or type error per branch at the same place.
  const branchErrors = errors.filter((e) => e.keyword === 'const' || e.keyword === 'type').map((e) => e.instancePath)
  const unions = new Set([
    ...errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath),
    ...branchErrors.filter((path, i) => branchErrors.indexOf(path) !== i),
  ])
  const deeper = (path: string) => errors.some((e) => e.instancePath.startsWith(`${path}/`))
  const out = new Set<string>()
  for (const path of unions) {
    // A union nobody matched: name its choices, unless a nested error already says more.
    if (deeper(path)) continue
    const choices = errors.filter((e) => e.instancePath === path).flatMap((e) => {
      const params = e.params as { allowedValue?: unknown, type?: string }
      if (e.keyword === 'const') return [JSON.stringify(params.allowedValue)]
      return e.keyword === 'type' ? [`${params.type === 'object' ? 'an' : 'a'} ${params.type}`] : []
    })
    out.add(`${formatPath(pointerToPath(path))}: must be one of ${choices.join(', ')}`)
  }
  for (const error of errors) {
    // additionalProperties reports each extra key twice: as "schema is false" and by name.
    if (error.keyword === 'boolean' || unions.has(error.instancePath)) continue
    const extra = (error.params as { additionalProperties?: string[] }).additionalProperties
    const text = extra ? `unknown field ${extra.map((k) => `"${k}"`).join(', ')}` : error.message
    out.add(`${formatPath(pointerToPath(error.instancePath))}: ${text}`)
  }
  return [...out]
}

type At = (path: Path, text: string) => void

function httpUrl (raw: string, path: Path, at: At): string {
  if (!URL.canParse(raw)) { at(path, `"${raw}" is not a URL`); return raw }
  const url = new URL(raw)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') at(path, `"${raw}" is not an http(s) URL`)
  if (url.username || url.password) at(path, 'a URL with credentials in it is refused (they would be logged)')
  return raw.replace(/\/+$/, '')
}

function provider (p: ProviderEntry, path: Path, at: At): ProviderSpec {
  const revocation = p.revocation === true
  const discovery = p.discovery === true
  if (p.jwksUrl === undefined && !discovery) at(path, 'give jwksUrl, or discovery: true')
  if (p.jwksUrl !== undefined && discovery) at([...path, 'discovery'], 'give jwksUrl or discovery, not both')
  if (discovery) httpUrl(p.issuer, [...path, 'issuer'], at)
  const algorithms = p.algorithms ?? ['RS256']
  if (revocation && algorithms.some((a) => a !== 'RS256')) {
    at([...path, 'algorithms'], "the project's own auth service signs RS256 only")
  }
  if (revocation && discovery) at([...path, 'discovery'], "the project's own auth service is found by jwksUrl")
  for (const [field, claim] of [['subjectClaim', 'sub'], ['rolesClaim', 'roles']] as const) {
    if (revocation && p[field] !== undefined && p[field] !== claim) {
      at([...path, field], `the project's own auth service's tokens carry "${claim}"`)
    }
  }
  return {
    id: p.id,
    issuer: p.issuer,
    audience: typeof p.audience === 'string' ? [p.audience] : [...new Set(p.audience)],
    ...(p.jwksUrl !== undefined && { jwksUrl: httpUrl(p.jwksUrl, [...path, 'jwksUrl'], at) }),
    discovery,
    algorithms: [...new Set(algorithms)],
    subjectClaim: p.subjectClaim ?? 'sub',
    rolesClaim: p.rolesClaim ?? 'roles',
    ...(p.clockTolerance !== undefined && { clockToleranceS: p.clockTolerance }),
    revocation,
  }
}

function checkProviders (providers: ProviderSpec[], at: At): void {
  const ids = new Map<string, number>()
  const issuers = new Map<string, number>()
  providers.forEach((p, i) => {
    const sameId = ids.get(p.id)
    if (sameId !== undefined) at(['providers', i, 'id'], `"${p.id}" is also providers[${sameId}]`)
    else ids.set(p.id, i)
    const sameIssuer = issuers.get(p.issuer)
    if (sameIssuer !== undefined) {
      at(['providers', i, 'issuer'], `also the issuer of providers[${sameIssuer}] (a token's iss picks one provider)`)
    } else issuers.set(p.issuer, i)
  })
  const local = providers.flatMap((p, i) => p.revocation ? [i] : [])
  if (local.length === 0) {
    at(['providers'], "one provider must be this project's auth service (revocation: true): its sessions and keys")
  }
  if (local.length > 1) {
    at(['providers', local[1]!, 'revocation'], `only one provider is the auth service (also providers[${local[0]}])`)
  }
}

function route (r: RouteEntry, path: Path, providerIds: Set<string>, at: At): RouteSpec {
  const auth = r.auth ?? 'required'
  const methods = r.methods ? [...new Set(r.methods)] : [...DEFAULT_METHODS]
  if (methods.includes('OPTIONS')) {
    at([...path, 'methods', methods.indexOf('OPTIONS')], "OPTIONS is the gateway's own (CORS preflight): leave it out")
  }
  if ((RESERVED_PREFIXES as readonly string[]).some((p) => r.prefix === p || r.prefix.startsWith(`${p}/`))) {
    at([...path, 'prefix'], `${r.prefix} is the gateway's own`)
  }
  const roles: Record<string, readonly string[]> = {}
  for (const [method, list] of Object.entries(r.roles ?? {})) {
    const where = [...path, 'roles', method]
    const known = method === '*' || (HTTP_METHODS as readonly string[]).includes(method)
    if (!known) at(where, `${method} is not a method or "*"`)
    else if (method !== '*' && !(methods as string[]).includes(method)) at(where, `${method} is not in methods`)
    if (list.length > 0 && auth === 'none') at(where, 'roles need auth "required" or "optional"')
    roles[method] = [...new Set(list)]
  }
  const providers = r.providers ? [...new Set(r.providers)] : [...providerIds]
  r.providers?.forEach((id, j) => {
    if (!providerIds.has(id)) at([...path, 'providers', j], `unknown provider "${id}"`)
  })
  if (r.providers && auth === 'none') at([...path, 'providers'], 'providers need auth "required" or "optional"')
  const limit = r.rateLimit
  const rateLimit = limit
    ? {
        key: limit.key,
        perMinute: limit.perMinute,
        methods: limit.methods ?? [],
        paths: limit.paths ?? [],
        bucket: limit.bucket ?? r.id,
      }
    : null
  rateLimit?.paths.forEach((p, j) => {
    if (p !== r.prefix && !p.startsWith(`${r.prefix === '/' ? '' : r.prefix}/`)) {
      at([...path, 'rateLimit', 'paths', j], `${p} is not under the prefix ${r.prefix}`)
    }
  })
  if (rateLimit?.key === 'user' && auth === 'none') {
    at([...path, 'rateLimit', 'key'], 'key "user" needs auth "required" or "optional"')
  }
  const websocket = r.websocket === true ? {} : r.websocket === false || r.websocket === undefined ? null : r.websocket
  if (websocket !== null && !methods.includes('GET')) {
    at([...path, 'websocket'], 'a WebSocket upgrade is a GET: add it to methods')
  }
  return {
    id: r.id,
    prefix: r.prefix,
    exact: r.exact === true,
    methods,
    upstream: httpUrl(r.upstream, [...path, 'upstream'], at),
    rewritePrefix: r.rewritePrefix ?? r.prefix,
    auth,
    providers: auth === 'none' ? [] : providers,
    roles,
    rateLimit,
    csrf: r.csrf ?? (r.forwardCredentials ? 'origin' : 'double-submit'),
    forwardCredentials: r.forwardCredentials === true,
    ...(r.timeout !== undefined && { timeoutMs: r.timeout }),
    ...(r.bodyLimit !== undefined && { bodyLimit: r.bodyLimit }),
    identity: r.identity ?? 'both',
    websocket,
    ...(r.idleTimeout !== undefined && { idleTimeoutMs: r.idleTimeout }),
    ...(r.maxLifetime !== undefined && { maxLifetimeMs: r.maxLifetime }),
  }
}

function checkOverlaps (routes: RouteSpec[], at: At): void {
  const ids = new Map<string, number>()
  routes.forEach((r, i) => {
    const same = ids.get(r.id)
    if (same !== undefined) at(['routes', i, 'id'], `"${r.id}" is also routes[${same}]`)
    else ids.set(r.id, i)
    for (let j = 0; j < i; j++) {
      const other = routes[j]!
      if (other.prefix !== r.prefix) continue
      const shared = r.methods.filter((m) => other.methods.includes(m))
      if (shared.length > 0) at(['routes', i, 'prefix'], `${r.prefix} with ${shared.join(', ')} is also routes[${j}]`)
    }
  })
}

/** A path's counter: the bucket, then the path under the rule's prefix (`auth` + `/auth/login`: `auth-login`). */
export function counterName (bucket: string, prefix: string, path: string): string {
  const under = path.slice(prefix === '/' ? 1 : prefix.length + 1)
  return under === '' ? bucket : `${bucket}-${under.replaceAll('/', '-')}`
}

/**
 * Routes naming one bucket share one counter: they must count the same way. And no two
 * buckets may name the same counter (bucket `auth-login` against bucket `auth` with the path
 * /auth/login), or one would spend the other's budget.
 */
function checkBuckets (routes: RouteSpec[], at: At): void {
  const first = new Map<string, number>()
  const counters = new Map<string, { bucket: string, route: number }>()
  routes.forEach((r, i) => {
    if (r.rateLimit === null) return
    const { bucket, paths } = r.rateLimit
    for (const name of paths.length > 0 ? paths.map((p) => counterName(bucket, r.prefix, p)) : [bucket]) {
      const owner = counters.get(name)
      if (owner === undefined) counters.set(name, { bucket, route: i })
      else if (owner.bucket !== bucket) {
        const other = `bucket "${owner.bucket}" of routes[${owner.route}]`
        at(['routes', i, 'rateLimit', 'bucket'], `counter "${name}" is also ${other}`)
      }
    }
    const j = first.get(r.rateLimit.bucket)
    if (j === undefined) { first.set(r.rateLimit.bucket, i); return }
    const other = routes[j]!.rateLimit!
    const mine = r.rateLimit
    if (other.key !== mine.key || other.perMinute !== mine.perMinute) {
      at(['routes', i, 'rateLimit', 'bucket'],
        `bucket "${mine.bucket}" is also routes[${j}]'s, with another key or perMinute (one counter counts one way)`)
    }
  })
}

/** A not-found prefix is a route of the gateway's own: no route may have the same prefix. */
function checkNotFoundPrefixes (prefixes: string[], routes: RouteSpec[], at: At): void {
  prefixes.forEach((p, i) => {
    const j = routes.findIndex((r) => r.prefix === p)
    if (j >= 0) at(['notFoundPrefixes', i], `${p} is also routes[${j}]'s prefix`)
    if ((RESERVED_PREFIXES as readonly string[]).some((own) => p === own || p.startsWith(`${own}/`))) {
      at(['notFoundPrefixes', i], `${p} is the gateway's own`)
    }
  })
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
