/**
 * Identity of the caller, as the gateway forwards it (gateway/src/contract.ts). With
 * IDENTITY_ASSERTION off, services trust these headers, which only the gateway sets; a request
 * without `x-user-id` did not come through the gateway and is refused with 400, so a misrouted
 * call is visible instead of acting as an anonymous user. With IDENTITY_ASSERTION optional or
 * required, the gateway's signed `x-identity-token` is checked (identity-assertion.ts) and the
 * identity is taken from it.
 */
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { IDENTITY_HEADERS, parseRoles, type Identity } from '../../gateway/src/contract.js'
import { ForbiddenError, InvalidIdentityAssertionError, MissingIdentityError } from './errors.js'
import {
  createAssertionVerifier, headersAgree, type AssertionVerifier, type IdentityAssertionSettings,
} from './identity-assertion.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on every route except those with `config: { identity: false }` (e.g. GET /healthz). */
    identity: Identity
  }
  interface FastifyContextConfig {
    /** `false` lets a route answer without identity headers. */
    identity?: boolean
  }
}

function headerValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function readIdentity (request: FastifyRequest): Identity | null {
  const subject = headerValue(request.headers[IDENTITY_HEADERS.subject])?.trim()
  if (!subject) return null
  return {
    subject,
    roles: parseRoles(headerValue(request.headers[IDENTITY_HEADERS.roles])),
    session: headerValue(request.headers[IDENTITY_HEADERS.session])?.trim() ?? '',
  }
}

export interface IdentityPluginOptions {
  /** Absent or mode 'off': the identity headers alone. */
  assertion?: Readonly<IdentityAssertionSettings>
  /** A verifier of the caller's (tests); default one from `assertion`'s JWKS URL. */
  verifier?: AssertionVerifier
}

export const identityPlugin = fp(async function identity (app, opts: IdentityPluginOptions) {
  const mode = opts.assertion?.mode ?? 'off'
  const verify = mode === 'off' ? undefined : opts.verifier ?? createAssertionVerifier(opts.assertion!)
  app.decorateRequest('identity', null as unknown as Identity)
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.identity === false) return
    const found = readIdentity(request)
    const token = headerValue(request.headers[IDENTITY_HEADERS.assertion])
    if (verify !== undefined && (token !== undefined || mode === 'required')) {
      if (!token) throw new InvalidIdentityAssertionError('missing')
      const asserted = await verify(token)
      // Headers that say otherwise were not written by the gateway that signed this.
      if (!headersAgree(found, asserted)) throw new InvalidIdentityAssertionError('contradicts the identity headers')
      request.identity = asserted
      return
    }
    if (!found) throw new MissingIdentityError(IDENTITY_HEADERS.subject)
    request.identity = found
  })
}, { name: 'services-identity', fastify: '5.x' })

/** preHandler: 403 `insufficient_scope` unless the caller has `role` (checked again here, not only at the gateway). */
export function requireRole (role: string) {
  return async function checkRole (request: FastifyRequest, _reply: FastifyReply) {
    if (!request.identity?.roles.includes(role)) throw new ForbiddenError(role)
  }
}
