/**
 * POST /auth/logout-all, GET /auth/sessions, DELETE /auth/sessions/:id (access token required).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AuthContext } from '../context.js'
import { clearSessionCookies } from '../cookies.js'
import { NotFoundError } from '../errors.js'
import { SessionParams } from '../schemas.js'
import { requireAccess } from './require-access.js'
import { clientInfo } from './session-response.js'

export const sessionRoutes: FastifyPluginAsyncTypebox<{ ctx: AuthContext }> = async (app, { ctx }) => {
  const { families, config } = ctx
  app.addHook('preHandler', requireAccess(ctx))

  app.post('/auth/logout-all', async (request, reply) => {
    const ids = await families.revokeAll(request.auth!.sub)
    ctx.events.logoutAll(request.log, { userId: request.auth!.sub, sessions: ids.length, ...clientInfo(request) })
    clearSessionCookies(reply, config)
    reply.status(204).send()
  })

  app.get('/auth/sessions', async (request, reply) => {
    const { sub, sid } = request.auth!
    const sessions = await families.listForUser(sub)
    reply.header('cache-control', 'no-store')
    return {
      sessions: sessions.map((s) => ({
        id: s.id,
        createdAt: new Date(s.createdAt).toISOString(),
        lastUsedAt: new Date(s.lastUsedAt).toISOString(),
        userAgent: s.userAgent,
        ip: s.ip,
        current: s.id === sid,
      })),
    }
  })

  app.delete('/auth/sessions/:id', { schema: { params: SessionParams } }, async (request, reply) => {
    const { sub, sid } = request.auth!
    const session = await families.get(request.params.id)
    // Another user's session is "not found": its existence is none of the caller's business.
    if (!session || session.userId !== sub) throw new NotFoundError('No such session')
    await families.revoke(session.id, sub)
    ctx.events.sessionEnded(request.log, { sid: session.id, userId: sub, by: 'session_delete', ...clientInfo(request) })
    if (session.id === sid) clearSessionCookies(reply, config)
    reply.status(204).send()
  })
}
