/**
 * The auth service's own admin check, behind the gateway's route roles: a live access token
 * (require-access.ts) whose roles name `admin`, of an account that still has the role, so an
 * admin token that reaches the service some other way, or outlives its role, gets nothing.
 */
import type { FastifyRequest } from 'fastify'
import { InsufficientScopeError } from '../errors.js'
import type { UsersStore } from '../users/users-store.js'
import { requireAccess, type AccessDeps } from './require-access.js'

export const ADMIN_ROLE = 'admin'

export interface AdminAccessDeps extends AccessDeps {
  users: Pick<UsersStore, 'findById'>
}

export function requireAdmin (deps: AdminAccessDeps) {
  const access = requireAccess(deps)
  return async function requireAdminHook (request: FastifyRequest): Promise<void> {
    await access(request)
    const claims = request.auth!
    const account = claims.roles.includes(ADMIN_ROLE) ? await deps.users.findById(claims.sub) : null
    if (!account || account.disabled || !account.roles.includes(ADMIN_ROLE)) {
      throw new InsufficientScopeError('The admin role is required')
    }
  }
}
