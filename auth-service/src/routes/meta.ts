/**
 * GET /.well-known/jwks.json (public keys only), GET /healthz (alive), GET /readyz
 * (keys loaded and Redis answering).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { KeyringHolder } from '../keys/holder.js'
import type { RedisClient } from '../redis.js'

export interface MetaRoutesDeps {
  keys: KeyringHolder
  redis: RedisClient
  /** Seconds, `Cache-Control: public, max-age` of the JWKS. */
  jwksMaxAge: number
}

export const metaRoutes: FastifyPluginAsyncTypebox<MetaRoutesDeps> = async (app, { keys, redis, jwksMaxAge }) => {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${jwksMaxAge}`)
    return keys.current.jwks
  })

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const hasKeys = keys.current.jwks.keys.length > 0
    const redisUp = await redis.ping().then((r) => r === 'PONG', () => false)
    const checks = { keys: hasKeys, redis: redisUp }
    if (hasKeys && redisUp) return { status: 'ready', checks }
    const missing = [hasKeys ? null : 'signing keys not loaded', redisUp ? null : 'Redis unreachable'].filter(Boolean)
    reply.status(503)
    return { error: 'service_unavailable', message: `Not ready: ${missing.join(', ')}`, checks }
  })
}
