/**
 * Routing rules as data: one entry per upstream, its policy in explicit fields, validated once
 * at build time (a bad table fails `buildGateway`, never a request). proxy.ts registers one
 * @fastify/http-proxy per rule; the pipeline stages (pipeline/index.ts) read the policy fields.
 *
 * - `auth`, `roles`: stages 5 and 6
 * - `rateLimit`: 'auth-endpoints' (stage 4, per client IP on login, register and refresh) or
 *   'per-user' (stage 8, per token `sub`)
 * - `csrf`: 'double-submit' (stage 7, cookie-authenticated unsafe requests) or 'origin'
 *   (stage 7, the Origin check on cookie-carrying unsafe calls to the auth service)
 * - `forwardCredentials`: Authorization and the auth cookies go upstream (mutate.ts)
 * - `bodyLimit`: the largest request body in bytes (stage 2 by Content-Length, proxy.ts while
 *   a chunked body streams); the demo services' own limit on theirs, so no upload they would
 *   refuse midway ever reaches them
 */
import { BODY_LIMIT } from '../../services/kernel/limits.js'
import type { GatewayConfig } from './config.js'
import { RouteTableError } from './errors.js'

export const AUTH_MODES = ['required', 'none'] as const
export const RATE_LIMITS = ['auth-endpoints', 'per-user', 'none'] as const
export const CSRF_MODES = ['double-submit', 'origin', 'none'] as const
export type AuthMode = typeof AUTH_MODES[number]
export type RateLimitPolicy = typeof RATE_LIMITS[number]
export type CsrfPolicy = typeof CSRF_MODES[number]

export const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const
/** Methods forwarded upstream: OPTIONS is always answered by the gateway (pipeline/cors-preflight.ts). */
export const PROXIED_METHODS = HTTP_METHODS.filter((m) => m !== 'OPTIONS')

/** A rule as written: the policy fields may be left out (see `RULE_DEFAULTS`). */
export interface RuleInput {
  id: string
  /** Path prefix at the gateway; '/' is the catch-all (at most one). */
  prefix: string
  upstream: string
  auth: AuthMode
  /** Roles per method (or '*' for any other method); the identity needs one. Empty or absent: any identity. */
  roles: Readonly<Record<string, readonly string[]>>
  /** Path the prefix is replaced by upstream; defaults to the prefix itself (no rewrite). */
  rewritePrefix?: string
  /** Only the prefix path itself, no sub-paths. */
  exact?: boolean
  rateLimit?: RateLimitPolicy
  csrf?: CsrfPolicy
  forwardCredentials?: boolean
  /** Bytes; default DEFAULT_BODY_LIMIT. */
  bodyLimit?: number
}

/** A validated rule: every policy field filled in, frozen. */
export interface Rule extends Readonly<RuleInput> {
  readonly rateLimit: RateLimitPolicy
  readonly csrf: CsrfPolicy
  readonly forwardCredentials: boolean
  readonly bodyLimit: number
}

/** A rule's request-body limit when it sets none (Fastify's own default). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024
const MAX_BODY_LIMIT = 1024 * 1024 * 1024

/** Defaults, by auth mode: an authenticated route is limited per user and double-submit checked. */
export const RULE_DEFAULTS: Readonly<Record<AuthMode, Pick<Rule, 'rateLimit' | 'csrf' | 'forwardCredentials'>>> = {
  required: { rateLimit: 'per-user', csrf: 'double-submit', forwardCredentials: false },
  none: { rateLimit: 'none', csrf: 'none', forwardCredentials: false },
}

/** Paths under these prefixes never fall through to the catch-all: unknown ones get a JSON 404. */
export const JSON_ONLY_PREFIXES = ['/api'] as const

type UpstreamUrls = Pick<GatewayConfig, 'authUrl' | 'ordersUrl' | 'usersUrl' | 'paymentsUrl' | 'webUrl'>

/** A business service behind /api/<name>, seen upstream as /<name>. */
function apiRule (name: string, upstream: string, roles: RuleInput['roles'] = {}): RuleInput {
  const policy = { auth: 'required', rateLimit: 'per-user', csrf: 'double-submit', bodyLimit: BODY_LIMIT } as const
  return { id: name, prefix: `/api/${name}`, upstream, rewritePrefix: `/${name}`, ...policy, roles }
}

export function defaultRules (config: UpstreamUrls): RuleInput[] {
  const open = { auth: 'none', roles: {}, rateLimit: 'none', csrf: 'none' } as const
  return [
    {
      id: 'auth',
      prefix: '/auth',
      upstream: config.authUrl,
      ...open,
      rateLimit: 'auth-endpoints',
      csrf: 'origin',
      forwardCredentials: true,
      bodyLimit: BODY_LIMIT,
    },
    { id: 'jwks', prefix: '/.well-known/jwks.json', upstream: config.authUrl, ...open, exact: true },
    apiRule('orders', config.ordersUrl, { DELETE: ['admin'] }),
    apiRule('users', config.usersUrl),
    apiRule('payments', config.paymentsUrl),
    { id: 'web', prefix: '/', upstream: config.webUrl, ...open },
  ]
}

const ID = /^[a-z][a-z0-9-]{0,31}$/
const PATH = /^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/
const ROLE = /^[\x21-\x2b\x2d-\x7e]{1,64}$/ // visible ASCII except ',' (the header separator)

const oneOf = (allowed: readonly string[]) => allowed.map((a) => `'${a}'`).join(', ')

function ruleProblems (rule: RuleInput, at: string): string[] {
  const problems: string[] = []
  if ((JSON_ONLY_PREFIXES as readonly string[]).includes(rule.prefix)) {
    problems.push(`${at}: prefix ${rule.prefix} is reserved`)
  }
  if (!URL.canParse(rule.upstream)) problems.push(`${at}: upstream must be a URL`)
  else if (!['http:', 'https:'].includes(new URL(rule.upstream).protocol)) {
    problems.push(`${at}: upstream must be http(s)`)
  }
  if (!AUTH_MODES.includes(rule.auth)) problems.push(`${at}: auth must be 'required' or 'none'`)
  if (rule.rewritePrefix !== undefined && (typeof rule.rewritePrefix !== 'string' || !PATH.test(rule.rewritePrefix))) {
    problems.push(`${at}: rewritePrefix must be a path`)
  }
  if (typeof rule.roles !== 'object' || rule.roles === null || Array.isArray(rule.roles)) {
    problems.push(`${at}: roles must be an object of method -> role list`)
  } else {
    for (const [method, list] of Object.entries(rule.roles)) {
      if (method !== '*' && !(HTTP_METHODS as readonly string[]).includes(method)) {
        problems.push(`${at}: roles key ${method} is not a method or '*'`)
      }
      if (!Array.isArray(list) || !list.every((r) => typeof r === 'string' && ROLE.test(r))) {
        problems.push(`${at}: roles.${method} must be a list of role names`)
      } else if (list.length > 0 && rule.auth !== 'required') problems.push(`${at}: roles need auth 'required'`)
    }
  }
  if (rule.rateLimit !== undefined && !RATE_LIMITS.includes(rule.rateLimit)) {
    problems.push(`${at}: rateLimit must be one of ${oneOf(RATE_LIMITS)}`)
  } else if (rule.rateLimit === 'per-user' && rule.auth !== 'required') {
    problems.push(`${at}: rateLimit 'per-user' needs auth 'required'`)
  }
  if (rule.csrf !== undefined && !CSRF_MODES.includes(rule.csrf)) {
    problems.push(`${at}: csrf must be one of ${oneOf(CSRF_MODES)}`)
  } else if (rule.csrf === 'double-submit' && rule.auth !== 'required') {
    problems.push(`${at}: csrf 'double-submit' needs auth 'required'`)
  }
  const limit: unknown = rule.bodyLimit
  const limitOk = typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0 && limit <= MAX_BODY_LIMIT
  if (limit !== undefined && !limitOk) {
    problems.push(`${at}: bodyLimit must be a whole number of bytes up to ${MAX_BODY_LIMIT}`)
  }
  for (const flag of ['forwardCredentials', 'exact'] as const) {
    const value: unknown = rule[flag]
    if (value !== undefined && typeof value !== 'boolean') problems.push(`${at}: ${flag} must be a boolean`)
  }
  return problems
}

/** Checks the whole table and throws one RouteTableError listing every problem. Returns frozen, filled-in copies. */
export function validateRules (rules: readonly RuleInput[]): readonly Rule[] {
  const problems: string[] = []
  const ids = new Set<string>()
  const prefixes = new Set<string>()
  for (const [i, rule] of rules.entries()) {
    const at = `route ${i} (${String(rule?.id)})`
    if (typeof rule !== 'object' || rule === null) { problems.push(`${at}: not an object`); continue }
    if (typeof rule.id !== 'string' || !ID.test(rule.id)) problems.push(`${at}: id must match ${ID}`)
    else if (ids.has(rule.id)) problems.push(`${at}: duplicate id`)
    else ids.add(rule.id)
    if (typeof rule.prefix !== 'string' || !PATH.test(rule.prefix)) {
      problems.push(`${at}: prefix must be a path like /api/x (no trailing slash)`)
    } else if (prefixes.has(rule.prefix)) problems.push(`${at}: duplicate prefix ${rule.prefix}`)
    else prefixes.add(rule.prefix)
    problems.push(...ruleProblems(rule, at))
  }
  if (problems.length > 0) throw new RouteTableError(problems.join('; '))
  return Object.freeze(rules.map((r) => {
    const defaults = RULE_DEFAULTS[r.auth]
    return Object.freeze({
      ...r,
      roles: Object.freeze({ ...r.roles }),
      rateLimit: r.rateLimit ?? defaults.rateLimit,
      csrf: r.csrf ?? defaults.csrf,
      forwardCredentials: r.forwardCredentials ?? defaults.forwardCredentials,
      bodyLimit: r.bodyLimit ?? DEFAULT_BODY_LIMIT,
    })
  }))
}
