/**
 * GET /.well-known/jwks.json (public keys only), GET /healthz (alive), GET /readyz
 * (keys loaded and Redis answering).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AuthContext } from '../context.js'

export const metaRoutes: FastifyPluginAsyncTypebox<{ ctx: AuthContext }> = async (app, { ctx }) => {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${ctx.config.jwksMaxAge}`)
    return ctx.keyring.jwks
  })

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const keys = ctx.keyring.jwks.keys.length > 0
    const redis = await ctx.redis.ping().then((r) => r === 'PONG', () => false)
    if (keys && redis) return { status: 'ready', checks: { keys, redis } }
    const missing = [keys ? null : 'signing keys not loaded', redis ? null : 'Redis unreachable'].filter(Boolean)
    reply.status(503)
    return { error: 'service_unavailable', message: `Not ready: ${missing.join(', ')}`, checks: { keys, redis } }
  })
}
