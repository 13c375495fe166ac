/**
 * How an issued session reaches the client, and what a route reads of the request.
 * - The login/register/refresh body always carries the access token.
 * - Cookie delivery (browsers) sets the three session cookies; body delivery (other clients)
 *   puts the refresh token in the body and sets no cookie.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { setSessionCookies, type CookieSettings } from '../cookies.js'
import type { ClientInfo } from '../refresh/families.js'
import type { Caller, IssuedSession } from '../sessions/issue.js'
import { publicUser } from '../users/users-store.js'

export type Delivery = 'cookie' | 'body'

export interface SessionReplySettings {
  cookies: CookieSettings
  csrfSecret: string
  /** Seconds, the body's `expiresIn`. */
  accessTokenTtl: number
}

export function clientInfo (request: FastifyRequest): ClientInfo {
  const ua = request.headers['user-agent']
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : '' }
}

export function callerOf (request: FastifyRequest): Caller {
  return { client: clientInfo(request), log: request.log }
}

export function sendSession (
  reply: FastifyReply, settings: SessionReplySettings, issued: IssuedSession, delivery: Delivery
): Record<string, unknown> {
  const { accessToken, refreshToken, sid } = issued
  const tokenType = issued.jkt === undefined ? 'Bearer' : 'DPoP'
  const body: Record<string, unknown> = { accessToken, tokenType, expiresIn: settings.accessTokenTtl }
  if (issued.user) body.user = publicUser(issued.user)
  if (delivery === 'body') body.refreshToken = refreshToken
  else setSessionCookies(reply, settings.cookies, settings.csrfSecret, { accessToken, refreshToken, sid })
  reply.header('cache-control', 'no-store')
  return body
}
