/**
 * POST /auth/register, /auth/login, /auth/refresh, /auth/logout: parse, call the use case
 * (sessions/), shape the reply (status, cookies).
 * Register, login and refresh check a DPoP proof first when one is sent (../dpop.ts): a bad one
 * is refused before any password or refresh-token work.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { COOKIES } from '../contract.js'
import { clearSessionCookies } from '../cookies.js'
import type { ProofCheck } from '../dpop.js'
import { LoginBody, RefreshBody, RegisterBody } from '../schemas.js'
import { login, type LoginDeps } from '../sessions/login.js'
import { logout, type LogoutDeps } from '../sessions/logout.js'
import { refresh, type RefreshDeps } from '../sessions/refresh.js'
import { register, type RegisterDeps } from '../sessions/register.js'
import { callerOf, sendSession, type SessionReplySettings } from './reply.js'
import { bearerOrCookieToken } from './require-access.js'

export type AuthRoutesDeps = RegisterDeps & LoginDeps & RefreshDeps & LogoutDeps & {
  reply: SessionReplySettings
  checkProof: ProofCheck
}

/** Failures after which a cookie client's cookies are cleared: its session is gone. */
const SESSION_GONE = new Set(['AUTH_ERR_INVALID_REFRESH', 'AUTH_ERR_REFRESH_REUSED', 'AUTH_ERR_ACCOUNT_DISABLED'])

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesDeps> = async (app, deps) => {
  const settings = deps.reply

  // Browsers refresh and log out with the cookie only; an absent body counts as `{}`.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {}
  })

  app.post('/auth/register', { schema: { body: RegisterBody } }, async (request, reply) => {
    const { email, password, name, tokenDelivery } = request.body
    const jkt = await deps.checkProof(request)
    const issued = await register(deps, { email, password, name, ...callerOf(request), jkt })
    reply.status(201)
    return sendSession(reply, settings, issued, tokenDelivery ?? 'cookie')
  })

  app.post('/auth/login', { schema: { body: LoginBody } }, async (request, reply) => {
    const { email, password, tokenDelivery } = request.body
    const jkt = await deps.checkProof(request)
    const issued = await login(deps, { email, password, ...callerOf(request), jkt })
    return sendSession(reply, settings, issued, tokenDelivery ?? 'cookie')
  })

  app.post('/auth/refresh', { schema: { body: RefreshBody } }, async (request, reply) => {
    const fromBody = request.body.refreshToken !== undefined
    const refreshToken = fromBody ? request.body.refreshToken : request.cookies[COOKIES.refreshToken]
    try {
      const jkt = await deps.checkProof(request)
      const issued = await refresh(deps, { refreshToken, ...callerOf(request), jkt })
      return sendSession(reply, settings, issued, fromBody ? 'body' : 'cookie')
    } catch (err) {
      if (!fromBody && SESSION_GONE.has((err as { code?: string }).code ?? '')) {
        clearSessionCookies(reply,
          settings.cookies)
      }
      throw err
    }
  })

  app.post('/auth/logout', { schema: { body: RefreshBody } }, async (request, reply) => {
    await logout(deps, {
      refreshToken: request.body.refreshToken ?? request.cookies[COOKIES.refreshToken],
      accessToken: bearerOrCookieToken(request)?.token,
      ...callerOf(request),
    })
    clearSessionCookies(reply, settings.cookies)
    reply.status(204).send()
  })
}
