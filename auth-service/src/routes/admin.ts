/**
 * The admin API (CONTRACT "Admin operations"), for role `admin` only: find users by email,
 * a user's sessions (list, end one, end all), disable and enable an account.
 * - The admin check runs before validation, so a non-admin learns nothing from a 400.
 */
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { disableUser, enableUser, findUsers, type AccountsDeps, type AdminCaller } from '../admin/accounts.js'
import { endUserSession, endUserSessions, listUserSessions, type AdminSessionsDeps } from '../admin/sessions.js'
import { AdminSessionParams, AdminUserParams, AdminUsersQuery } from '../schemas.js'
import { callerOf } from './reply.js'
import { requireAdmin, type AdminAccessDeps } from './require-admin.js'

export type AdminRoutesDeps = AdminAccessDeps & AccountsDeps & AdminSessionsDeps

function adminOf (request: FastifyRequest): AdminCaller {
  const { sub, sid } = request.auth!
  return { adminId: sub, sid, ...callerOf(request) }
}

export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesDeps> = async (app, deps) => {
  app.addHook('preValidation', requireAdmin(deps))
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  app.get('/auth/admin/users', { schema: { querystring: AdminUsersQuery } }, async (request) => {
    return { users: await findUsers(deps, adminOf(request), request.query.email) }
  })

  app.get('/auth/admin/users/:id/sessions', { schema: { params: AdminUserParams } }, async (request) => {
    return { sessions: await listUserSessions(deps, adminOf(request), request.params.id) }
  })

  app.delete('/auth/admin/users/:id/sessions', { schema: { params: AdminUserParams } }, async (request, reply) => {
    await endUserSessions(deps, adminOf(request), request.params.id)
    reply.status(204).send()
  })

  app.delete('/auth/admin/users/:id/sessions/:sid', { schema: { params: AdminSessionParams } },
    async (request, reply) => {
      await endUserSession(deps, adminOf(request), request.params.id, request.params.sid)
      reply.status(204).send()
    })

  app.post('/auth/admin/users/:id/disable', { schema: { params: AdminUserParams } }, async (request, reply) => {
    await disableUser(deps, adminOf(request), request.params.id)
    reply.status(204).send()
  })

  app.post('/auth/admin/users/:id/enable', { schema: { params: AdminUserParams } }, async (request, reply) => {
    await enableUser(deps, adminOf(request), request.params.id)
    reply.status(204).send()
  })
}
