/**
 * Users demo service: GET /users/me answers with the identity the gateway forwarded
 * (the gateway maps /api/users here).
 */
import { Type } from 'typebox'
import { createServiceApp, type ServiceApp } from '../../common/app.js'
import type { ServiceConfig } from '../../common/config.js'

const Me = Type.Object({
  id: Type.String(),
  roles: Type.Array(Type.String()),
  sessionId: Type.String(),
})

export function buildUsersService (config: Partial<ServiceConfig> = {}): ServiceApp {
  const { logLevel, identityAssertion } = config
  const app = createServiceApp({ name: 'users', logLevel, identityAssertion })

  app.get('/users/me', { schema: { response: { 200: Me } } }, async (request) => {
    const { subject, roles, session } = request.identity
    return { id: subject, roles, sessionId: session }
  })

  return app
}
