/**
 * Pipeline stage 6, authorize: a pure function of the identity and the rule.
 *
 * - the roles for the method (HEAD falls back to GET, then '*') are alternatives: one is enough
 * - no roles listed: any authenticated identity passes
 * - the stage refuses with a ScopeDenial (403 insufficient_scope)
 * - an `auth: optional` request without a token on a method that needs roles: 401 missing_token
 */
import type { Identity } from '../contract.js'
import { insufficientScope, invalidToken } from '../errors.js'
import type { Rule } from '../rules.js'
import type { Stage } from './stage.js'

export type AuthzDecision = { allowed: true } | { allowed: false, required: readonly string[] }

export function requiredRoles (rule: Pick<Rule, 'roles'>, method: string): readonly string[] {
  const m = method.toUpperCase()
  return rule.roles[m] ?? (m === 'HEAD' ? rule.roles.GET : undefined) ?? rule.roles['*'] ?? []
}

export function authorize (identity: Identity, rule: Pick<Rule, 'roles'>, method: string): AuthzDecision {
  const required = requiredRoles(rule, method)
  if (required.length === 0) return { allowed: true }
  return required.some((role) => identity.roles.includes(role)) ? { allowed: true } : { allowed: false, required }
}

/** Runs where stage 5 set an identity, and on anonymous requests to `auth: optional` rules. */
export const authorizeStage: Stage = (request, _reply, { rule, identity }) => {
  if (rule === undefined) return
  if (identity === null) {
    if (rule.auth === 'optional' && requiredRoles(rule, request.method).length > 0) {
      throw invalidToken('missing_token', 'access token required')
    }
    return
  }
  const decision = authorize(identity, rule, request.method)
  if (!decision.allowed) throw insufficientScope(`requires one of the roles: ${decision.required.join(', ')}`)
}
