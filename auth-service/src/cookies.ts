/**
 * The session cookies, names and paths from contract.ts, all Secure:
 * - access (HttpOnly, Path=/), refresh (HttpOnly, Path=/auth), CSRF (readable, Path=/).
 */
import type { FastifyReply } from 'fastify'
import type { CookieSerializeOptions } from '@fastify/cookie'
import { COOKIES, REFRESH_COOKIE_PATH, csrfTokenFor } from './contract.js'
import type { AuthConfig } from './config.js'

interface Issued { accessToken: string, refreshToken: string, sid: string }

export type CookieSettings = Pick<AuthConfig, 'cookieSameSite' | 'accessTokenTtl' | 'refreshTokenTtl'>

function base (config: CookieSettings): CookieSerializeOptions {
  return { httpOnly: true, secure: true, sameSite: config.cookieSameSite }
}

export function setSessionCookies (reply: FastifyReply, config: CookieSettings, csrfSecret: string,
  issued: Issued): void {
  const b = base(config)
  reply.setCookie(COOKIES.accessToken, issued.accessToken, { ...b, path: '/', maxAge: config.accessTokenTtl })
  reply.setCookie(COOKIES.refreshToken, issued.refreshToken,
    { ...b, path: REFRESH_COOKIE_PATH, maxAge: config.refreshTokenTtl })
  reply.setCookie(COOKIES.csrfToken, csrfTokenFor(issued.sid, csrfSecret), {
    ...b, httpOnly: false, path: '/', maxAge: config.refreshTokenTtl,
  })
}

/** Max-Age=0 with the same Path attributes, so the browser drops exactly these cookies. */
export function clearSessionCookies (reply: FastifyReply, config: CookieSettings): void {
  const b = base(config)
  reply.setCookie(COOKIES.accessToken, '', { ...b, path: '/', maxAge: 0 })
  reply.setCookie(COOKIES.refreshToken, '', { ...b, path: REFRESH_COOKIE_PATH, maxAge: 0 })
  reply.setCookie(COOKIES.csrfToken, '', { ...b, httpOnly: false, path: '/', maxAge: 0 })
}
