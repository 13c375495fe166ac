/**
 * POST /auth/logout-all, GET /auth/sessions, DELETE /auth/sessions/:id (access token required).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { clearSessionCookies, type CookieSettings } from '../cookies.js'
import type { Families } from '../refresh/families.js'
import { SessionParams } from '../schemas.js'
import { endSessionById, listSessions, type EndByIdDeps } from '../sessions/list.js'
import { logoutAll, type LogoutAllDeps } from '../sessions/logout-all.js'
import { callerOf } from './reply.js'
import { requireAccess, type AccessDeps } from './require-access.js'

export type SessionRoutesDeps = AccessDeps & LogoutAllDeps & EndByIdDeps & {
  families: Pick<Families, 'listForUser'>
  cookies: CookieSettings
}

export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesDeps> = async (app, deps) => {
  app.addHook('preHandler', requireAccess(deps))

  app.post('/auth/logout-all', async (request, reply) => {
    await logoutAll(deps, { userId: request.auth!.sub, ...callerOf(request) })
    clearSessionCookies(reply, deps.cookies)
    reply.status(204).send()
  })

  app.get('/auth/sessions', async (request, reply) => {
    const { sub, sid } = request.auth!
    const sessions = await listSessions(deps.families, { userId: sub, sid })
    reply.header('cache-control', 'no-store')
    return { sessions }
  })

  app.delete('/auth/sessions/:id', { schema: { params: SessionParams } }, async (request, reply) => {
    const { sub, sid } = request.auth!
    const ended = await endSessionById(deps, { userId: sub, sid, id: request.params.id, ...callerOf(request) })
    if (ended.current) clearSessionCookies(reply, deps.cookies)
    reply.status(204).send()
  })
}
