/**
 * Routing rules as data: one entry per upstream, validated once at build time (a bad table
 * fails `buildGateway`, never a request). proxy.ts registers one @fastify/http-proxy per entry.
 */
import type { GatewayConfig } from './config.js'
import { RouteTableError } from './errors.js'

export type AuthMode = 'required' | 'none'
export const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const
/** Methods forwarded upstream: OPTIONS is always answered by the gateway (CORS, browser/cors.ts). */
export const PROXIED_METHODS = HTTP_METHODS.filter((m) => m !== 'OPTIONS')

export interface RouteRule {
  id: string
  /** Path prefix at the gateway; '/' is the catch-all (at most one). */
  prefix: string
  upstream: string
  auth: AuthMode
  /** Roles per method (or '*' for any other method); the identity needs one of them. Empty or absent: any identity. */
  roles: Readonly<Record<string, readonly string[]>>
  /** Path the prefix is replaced by upstream; defaults to the prefix itself (no rewrite). */
  rewritePrefix?: string
  /** Forward Authorization and the auth cookies (only the auth service gets them). */
  forwardCredentials?: boolean
  /** Only the prefix path itself, no sub-paths. */
  exact?: boolean
}

/** Paths under these prefixes never fall through to the catch-all: unknown ones get a JSON 404. */
export const JSON_ONLY_PREFIXES = ['/api'] as const

export function defaultRoutes (config: Pick<GatewayConfig, 'authUrl' | 'ordersUrl' | 'usersUrl' | 'paymentsUrl' | 'webUrl'>): RouteRule[] {
  return [
    { id: 'auth', prefix: '/auth', upstream: config.authUrl, auth: 'none', roles: {}, forwardCredentials: true },
    { id: 'jwks', prefix: '/.well-known/jwks.json', upstream: config.authUrl, auth: 'none', roles: {}, exact: true },
    { id: 'orders', prefix: '/api/orders', upstream: config.ordersUrl, rewritePrefix: '/orders', auth: 'required', roles: { DELETE: ['admin'] } },
    { id: 'users', prefix: '/api/users', upstream: config.usersUrl, rewritePrefix: '/users', auth: 'required', roles: {} },
    { id: 'payments', prefix: '/api/payments', upstream: config.paymentsUrl, rewritePrefix: '/payments', auth: 'required', roles: {} },
    { id: 'web', prefix: '/', upstream: config.webUrl, auth: 'none', roles: {} },
  ]
}

const ID = /^[a-z][a-z0-9-]{0,31}$/
const PATH = /^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/
const ROLE = /^[\x21-\x2b\x2d-\x7e]{1,64}$/ // visible ASCII except ',' (the header separator)

/** Checks the whole table and throws one RouteTableError listing every problem. Returns frozen copies. */
export function validateRoutes (rules: readonly RouteRule[]): readonly RouteRule[] {
  const problems: string[] = []
  const ids = new Set<string>()
  const prefixes = new Set<string>()
  for (const [i, rule] of rules.entries()) {
    const at = `route ${i} (${String(rule?.id)})`
    if (typeof rule !== 'object' || rule === null) { problems.push(`${at}: not an object`); continue }
    if (typeof rule.id !== 'string' || !ID.test(rule.id)) problems.push(`${at}: id must match ${ID}`)
    else if (ids.has(rule.id)) problems.push(`${at}: duplicate id`)
    else ids.add(rule.id)
    if (typeof rule.prefix !== 'string' || !PATH.test(rule.prefix)) problems.push(`${at}: prefix must be a path like /api/x (no trailing slash)`)
    else if (prefixes.has(rule.prefix)) problems.push(`${at}: duplicate prefix ${rule.prefix}`)
    else prefixes.add(rule.prefix)
    if ((JSON_ONLY_PREFIXES as readonly string[]).includes(rule.prefix)) problems.push(`${at}: prefix ${rule.prefix} is reserved`)
    try {
      const u = new URL(rule.upstream)
      if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`${at}: upstream must be http(s)`)
    } catch { problems.push(`${at}: upstream must be a URL`) }
    if (rule.auth !== 'required' && rule.auth !== 'none') problems.push(`${at}: auth must be 'required' or 'none'`)
    if (rule.rewritePrefix !== undefined && (typeof rule.rewritePrefix !== 'string' || !PATH.test(rule.rewritePrefix))) {
      problems.push(`${at}: rewritePrefix must be a path`)
    }
    if (typeof rule.roles !== 'object' || rule.roles === null || Array.isArray(rule.roles)) {
      problems.push(`${at}: roles must be an object of method -> role list`)
    } else {
      for (const [method, list] of Object.entries(rule.roles)) {
        if (method !== '*' && !(HTTP_METHODS as readonly string[]).includes(method)) problems.push(`${at}: roles key ${method} is not a method or '*'`)
        if (!Array.isArray(list) || !list.every((r) => typeof r === 'string' && ROLE.test(r))) problems.push(`${at}: roles.${method} must be a list of role names`)
        else if (list.length > 0 && rule.auth !== 'required') problems.push(`${at}: roles need auth 'required'`)
      }
    }
    if (rule.forwardCredentials !== undefined && typeof rule.forwardCredentials !== 'boolean') problems.push(`${at}: forwardCredentials must be a boolean`)
    if (rule.exact !== undefined && typeof rule.exact !== 'boolean') problems.push(`${at}: exact must be a boolean`)
  }
  if (problems.length > 0) throw new RouteTableError(problems.join('; '))
  return Object.freeze(rules.map((r) => Object.freeze({ ...r, roles: Object.freeze({ ...r.roles }) })))
}
