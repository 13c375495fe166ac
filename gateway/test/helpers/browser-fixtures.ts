/**
 * Fixtures for the browser-protection tests: an upstream that counts the requests it
 * receives (to show a refused request never reached it) and can answer with headers of its
 * own (to show the gateway's security headers win), and a cookie-session builder.
 */
import Fastify from 'fastify'
import { csrfTokenFor } from '../../../auth-service/src/contract.js'
import { signToken, type Signer } from '../../../scripts/testing/jwt.js'
import type { Teardown } from '../../../scripts/testing/wait.js'

export interface CountingUpstream {
  url: string
  /** Requests received so far, optionally only those whose path starts with `prefix`. */
  hits: (prefix?: string) => number
}

/** Echoes method, url and headers; sends `headers` on every answer. */
export async function startCountingUpstream (
  t: Teardown,
  headers: Record<string,
  string> = {}
): Promise<CountingUpstream> {
  const seen: string[] = []
  const app = Fastify()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
  app.all('/*', async (request, reply) => {
    seen.push(request.url)
    reply.headers(headers)
    return { method: request.method, url: request.url, headers: request.headers }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return {
    url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    hits: (prefix = '') => seen.filter((u) => u.startsWith(prefix)).length,
  }
}

export interface CookieSession { sid: string, token: string, csrf: string, cookie: string }

/** What a browser holds after login: the access cookie and the session's CSRF cookie. */
export async function cookieSession (
  signer: Signer,
  secret: string,
  sid: string,
  sub = 'user-1'
): Promise<CookieSession> {
  const token = await signToken(signer, { claims: { sid, sub } })
  const csrf = csrfTokenFor(sid, secret)
  return { sid, token, csrf, cookie: `access_token=${token}; csrf_token=${csrf}` }
}
