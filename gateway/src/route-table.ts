/**
 * The routing table of one gateway file: which rule a request goes to. Built off to the side
 * (start-up or reload) and swapped in whole (active-config.ts); the proxy's one catch-all route
 * (proxy.ts) forwards by the rule the table picked.
 *
 * - find-my-way, the router Fastify itself uses, with Fastify's defaults: a rule's prefix matches
 *   on path-segment boundaries, the longest prefix taking the method wins, percent-decoding as
 *   Fastify decodes
 * - GET also takes HEAD, as Fastify's exposeHeadRoutes did for the per-rule routes
 * - the file's notFoundPrefixes are entries too: a path under one that no longer prefix takes is
 *   a JSON 404, never the catch-all's
 */
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import type { HttpMethod } from './gateway-file/validate.js'
import { HTTP_METHODS, type Rule } from './rules.js'

/** What a request path resolves to: a rule, a JSON-only 404 prefix, or nothing (a 404 too). */
export type RouteMatch = { rule: Rule, notFound: false } | { rule: undefined, notFound: true }

export interface RouteTable {
  readonly rules: readonly Rule[]
  /** `url` as the request line has it (query string included: it is ignored). */
  match: (method: string, url: string) => RouteMatch
}

const NO_ROUTE: RouteMatch = Object.freeze({ rule: undefined, notFound: true })

const routedMethods = (methods: readonly HttpMethod[]): HTTPMethod[] =>
  methods.includes('GET') && !methods.includes('HEAD') ? [...methods, 'HEAD'] : [...methods]

const patternsOf = (prefix: string, exact: boolean): string[] => {
  if (prefix === '/') return exact ? ['/'] : ['/', '/*']
  return exact ? [prefix] : [prefix, `${prefix}/*`]
}

/**
 * Throws when two entries take one path and method (validation refuses that first: a throw here
 * is a file that slipped past it, and the caller reports it as a problem of the file).
 */
export function buildRouteTable (rules: readonly Rule[], notFoundPrefixes: readonly string[]): RouteTable {
  const router = FindMyWay({ defaultRoute: () => {} })
  const handler = () => {}
  for (const rule of rules) {
    const match: RouteMatch = Object.freeze({ rule, notFound: false })
    for (const pattern of patternsOf(rule.prefix, rule.exact)) {
      router.on(routedMethods(rule.methods), pattern, handler, match)
    }
  }
  for (const prefix of notFoundPrefixes) {
    for (const pattern of patternsOf(prefix, false)) router.on([...HTTP_METHODS], pattern, handler, NO_ROUTE)
  }
  return Object.freeze({
    rules,
    match (method: string, url: string): RouteMatch {
      const found = router.find(method as HTTPMethod, url)
      return (found?.store as RouteMatch | undefined) ?? NO_ROUTE
    },
  })
}

/**
 * Length of the raw (undecoded) start of `path` that is `prefix` once percent-decoded, or -1.
 * The forwarded path keeps the client's own encoding after the rewritten prefix.
 */
export function rawPrefixLength (path: string, prefix: string): number {
  let i = 0
  for (let j = 0; j < prefix.length; j++) {
    const c = path.charCodeAt(i)
    if (c === 37 /* % */ && i + 2 < path.length) {
      const decoded = Number.parseInt(path.slice(i + 1, i + 3), 16)
      if (decoded === prefix.charCodeAt(j)) { i += 3; continue }
    }
    if (c !== prefix.charCodeAt(j)) return -1
    i++
  }
  return i
}

/** The path the upstream gets: the rule's prefix replaced by its rewritePrefix, the rest as the client sent it. */
export function upstreamPath (rule: Rule, path: string): string {
  const prefix = rule.prefix === '/' ? '' : rule.prefix
  let rewrite = rule.rewritePrefix
  if (!prefix.endsWith('/') && rewrite.endsWith('/')) rewrite = rewrite.slice(0, -1)
  const length = rawPrefixLength(path, prefix)
  return (length === -1 ? path : rewrite + path.slice(length)) || '/'
}
