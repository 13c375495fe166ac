/**
 * Issuing a session to a client: the login/register/refresh body, plus cookies unless
 * the client asked for body delivery.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthContext } from '../context.js'
import { setSessionCookies } from '../cookies.js'
import { publicUser, type User } from '../users/users-store.js'

export function clientInfo (request: FastifyRequest) {
  const ua = request.headers['user-agent']
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : '' }
}

export async function issueSession (
  ctx: AuthContext, reply: FastifyReply,
  issued: { sid: string, refreshToken: string, sub: string, roles: string[] },
  delivery: 'cookie' | 'body', user?: User
): Promise<Record<string, unknown>> {
  const accessToken = await ctx.signAccessToken({ sub: issued.sub, sid: issued.sid, roles: issued.roles })
  const body: Record<string, unknown> = { accessToken, tokenType: 'Bearer', expiresIn: ctx.config.accessTokenTtl }
  if (user) body.user = publicUser(user)
  if (delivery === 'body') body.refreshToken = issued.refreshToken
  else setSessionCookies(reply, ctx.config, ctx.secrets.csrfSecret, { accessToken, refreshToken: issued.refreshToken, sid: issued.sid })
  reply.header('cache-control', 'no-store')
  return body
}
