/**
 * Pipeline stage 3, authorize: a pure function of the identity and the route rule. The roles
 * for the method (HEAD falls back to GET, then '*') are alternatives: holding one is enough.
 * No roles listed: any authenticated identity passes.
 */
import type { Identity } from '../contract.js'
import type { RouteRule } from '../routes.js'

export type AuthzDecision = { allowed: true } | { allowed: false, required: readonly string[] }

export function requiredRoles (rule: Pick<RouteRule, 'roles'>, method: string): readonly string[] {
  const m = method.toUpperCase()
  return rule.roles[m] ?? (m === 'HEAD' ? rule.roles.GET : undefined) ?? rule.roles['*'] ?? []
}

export function authorize (identity: Identity, rule: Pick<RouteRule, 'roles'>, method: string): AuthzDecision {
  const required = requiredRoles(rule, method)
  if (required.length === 0) return { allowed: true }
  return required.some((role) => identity.roles.includes(role)) ? { allowed: true } : { allowed: false, required }
}
