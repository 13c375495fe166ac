/**
 * The seeds' stack, for comparison in `npm run bench`: express + jsonwebtoken +
 * http-proxy-middleware, as it is usually written: verify the Bearer token (RS256, iss,
 * aud) with jsonwebtoken against the PEM public key, write the identity headers, proxy
 * with http-proxy-middleware's defaults (http-proxy opens a new upstream connection per
 * request unless given an agent).
 */
import http from 'node:http'
import express from 'express'
import jwt from 'jsonwebtoken'
import { createProxyMiddleware } from 'http-proxy-middleware'

export interface SeedStackOptions {
  upstream: string
  publicKeyPem: string
  issuer: string
  audience: string
}

export function buildSeedStack (opts: SeedStackOptions): http.Server {
  const app = express()
  app.use('/api', (req, res, next) => {
    const header = req.headers.authorization
    if (!header?.startsWith('Bearer ')) {
      res.status(401).json({ error: 'invalid_token', message: 'missing token' })
      return
    }
    jwt.verify(header.slice(7), opts.publicKeyPem, {
      algorithms: ['RS256'],
      issuer: opts.issuer,
      audience: opts.audience,
    }, (err, payload) => {
      if (err || typeof payload !== 'object' || payload === null) {
        res.status(401).json({ error: 'invalid_token', message: 'invalid token' })
        return
      }
      const claims = payload as { sub?: string, roles?: string[], sid?: string }
      req.headers['x-user-id'] = claims.sub ?? ''
      req.headers['x-user-roles'] = (claims.roles ?? []).join(',')
      req.headers['x-session-id'] = claims.sid ?? ''
      delete req.headers.authorization
      next()
    })
  })
  app.use(
    createProxyMiddleware({
      target: opts.upstream,
      pathFilter: '/api/orders',
      pathRewrite: { '^/api/orders': '/orders' },
    })
  )
  return http.createServer(app)
}
