/**
 * POST /auth/register, /auth/login, /auth/refresh, /auth/logout.
 */
import { setTimeout } from 'node:timers/promises'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { COOKIES } from '../contract.js'
import type { AuthContext } from '../context.js'
import { clearSessionCookies } from '../cookies.js'
import {
  EmailTakenError, InvalidCredentialsError, InvalidRefreshTokenError, InvalidRequestError,
  RateLimitedError, RefreshReusedError, WeakPasswordError,
} from '../errors.js'
import { failureDelayMs } from '../login-throttle.js'
import { hashPassword, passwordProblem, verifyPassword } from '../passwords.js'
import { parseRefreshToken } from '../refresh/refresh-token.js'
import { LoginBody, RefreshBody, RegisterBody } from '../schemas.js'
import { EMAIL_PATTERN, normaliseEmail } from '../users/users-store.js'
import { clientInfo, issueSession } from './session-response.js'
import { bearerOrCookieToken } from './require-access.js'

export const authRoutes: FastifyPluginAsyncTypebox<{ ctx: AuthContext }> = async (app, { ctx }) => {
  const { users, families, throttle, config } = ctx

  // Browsers refresh and log out with the cookie only; an absent body counts as `{}`.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {}
  })

  app.post('/auth/register', { schema: { body: RegisterBody } }, async (request, reply) => {
    const email = normaliseEmail(request.body.email)
    if (!EMAIL_PATTERN.test(email)) throw new InvalidRequestError('email must be a valid email address')
    const problem = passwordProblem(request.body.password)
    if (problem) throw new WeakPasswordError(problem)
    if (await users.findByEmail(email)) throw new EmailTakenError()
    const passwordHash = await hashPassword(request.body.password)
    const user = await users.create({ email, name: request.body.name?.trim() ?? '', passwordHash })
    if (!user) throw new EmailTakenError()
    const { familyId, refreshToken } = await families.create(user.id, user.roles, clientInfo(request))
    reply.status(201)
    return await issueSession(ctx, reply, { sid: familyId, refreshToken, sub: user.id, roles: user.roles },
      request.body.tokenDelivery ?? 'cookie', user)
  })

  app.post('/auth/login', { schema: { body: LoginBody } }, async (request, reply) => {
    const email = normaliseEmail(request.body.email)
    const client = clientInfo(request)
    const { ip } = client
    const wait = await throttle.retryAfter(email, ip)
    if (wait > 0) {
      ctx.events.loginFailed(request.log, { email, reason: 'throttled', ...client })
      reply.header('retry-after', String(wait))
      throw new RateLimitedError(wait)
    }
    const user = await users.findByEmail(email)
    // Unknown email: verify against the start-up dummy hash, so both cases cost the same.
    const ok = await verifyPassword(user?.passwordHash ?? ctx.dummyHash, request.body.password)
    if (!user || !ok) {
      const failures = await throttle.recordFailure(email, ip)
      ctx.events.loginFailed(request.log, { email, reason: 'invalid_credentials', ...client })
      // Slows guessing down before the hard 429; known and unknown emails wait alike.
      await setTimeout(failureDelayMs(failures))
      throw new InvalidCredentialsError()
    }
    await throttle.reset(email, ip)
    const { familyId, refreshToken } = await families.create(user.id, user.roles, client)
    ctx.events.loginSucceeded(request.log, { userId: user.id, email, sid: familyId, ...client })
    return await issueSession(ctx, reply, { sid: familyId, refreshToken, sub: user.id, roles: user.roles },
      request.body.tokenDelivery ?? 'cookie', user)
  })

  app.post('/auth/refresh', { schema: { body: RefreshBody } }, async (request, reply) => {
    const fromBody = request.body.refreshToken !== undefined
    const delivery = fromBody ? 'body' : 'cookie'
    const parsed = parseRefreshToken(fromBody ? request.body.refreshToken : request.cookies[COOKIES.refreshToken])
    const fail = (err: Error) => {
      if (delivery === 'cookie') clearSessionCookies(reply, config)
      return err
    }
    if (!parsed) {
      ctx.events.refreshInvalid()
      throw fail(new InvalidRefreshTokenError())
    }
    const client = clientInfo(request)
    const result = await families.rotate(parsed.familyId, parsed.token, client)
    if (result.status === 'reused') {
      ctx.events.reuseDetected(request.log, { sid: result.familyId, userId: result.userId, ...client })
      throw fail(new RefreshReusedError())
    }
    if (result.status !== 'rotated') {
      ctx.events.refreshInvalid()
      throw fail(new InvalidRefreshTokenError())
    }
    ctx.events.refreshed()
    return await issueSession(ctx, reply,
      { sid: result.familyId, refreshToken: result.refreshToken, sub: result.userId, roles: result.roles }, delivery)
  })

  app.post('/auth/logout', { schema: { body: RefreshBody } }, async (request, reply) => {
    const sid = await sessionToEnd(ctx, request.body.refreshToken ?? request.cookies[COOKIES.refreshToken],
      bearerOrCookieToken(request)?.token)
    if (sid) {
      await families.revoke(sid.familyId, sid.userId)
      ctx.events.sessionEnded(request.log, { sid: sid.familyId, userId: sid.userId, by: 'logout', ...clientInfo(request) })
    }
    clearSessionCookies(reply, config)
    reply.status(204).send()
  })
}

/**
 * The session a logout ends: the refresh token's family if the token really belongs to it
 * (a guessed secret with a known family id must not log anyone out), else the access
 * token's sid. Null when neither names a live session: logout is idempotent.
 */
async function sessionToEnd (ctx: AuthContext, refreshToken: string | undefined, accessToken: string | undefined) {
  const parsed = parseRefreshToken(refreshToken)
  if (parsed) {
    const userId = await ctx.families.ownerOf(parsed.familyId, parsed.token)
    if (userId) return { familyId: parsed.familyId, userId }
  }
  if (accessToken) {
    const claims = await ctx.verifyAccessToken(accessToken).catch(() => null)
    if (claims) return { familyId: claims.sid, userId: claims.sub }
  }
  return null
}
