/**
 * The web app server: serves the Vite build of the SPA. Files under /assets/* are
 * immutable and cached for a year; index.html is never cached and is also the answer for
 * any client route (a path with no file extension), so a reload on /orders works.
 */
import { existsSync } from 'node:fs'
import { join, sep } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastifyStatic from '@fastify/static'
import type { WebConfig } from './config.js'
import { staticSecurityHeaders } from '../../kernel/security-policy.js'
import { closeConnectionsWhenDone } from '../../kernel/shutdown.js'
import { loggerOptions } from '../../kernel/logging.js'
import { toPublicError } from '../../kernel/public-error.js'
import { rejectMissingHost, SERVER_ERROR_OPTIONS } from '../../kernel/http-errors.js'

/** index.html must be revalidated on every load: it names the current hashed assets. */
const CACHE_HTML = 'no-cache'
/** Vite's /assets/* names carry a content hash, so they never change. */
const CACHE_ASSET = 'public, max-age=31536000, immutable'

export interface WebServerDeps {
  logger?: FastifyServerOptions['logger']
}

/** A path like /orders or /sessions/abc, not /assets/x.js or /favicon.ico. */
function isClientRoute (url: string): boolean {
  const path = url.split('?')[0] ?? '/'
  const last = path.slice(path.lastIndexOf('/') + 1)
  if (last.includes('.')) return false
  // API-looking paths never get the SPA: a misrouted API call must fail visibly.
  return !/^\/(api|auth|\.well-known|assets)(\/|$)/.test(path)
}

export async function buildWebServer (config: WebConfig, deps: WebServerDeps = {}): Promise<FastifyInstance> {
  const indexFile = join(config.distDir, 'index.html')
  if (!existsSync(indexFile)) {
    throw new Error(`web app build missing: ${indexFile} not found (run \`npm run build\`)`)
  }
  const assetsDir = join(config.distDir, 'assets') + sep
  // The gateway's policy, so the SPA gets the same headers when served directly.
  const securityHeaders = Object.fromEntries(staticSecurityHeaders())

  const app = Fastify({
    ...SERVER_ERROR_OPTIONS,
    logger: deps.logger ?? loggerOptions(config.logLevel),
    return503OnClosing: true,
    connectionTimeout: 10_000,
    requestTimeout: 10_000,
    keepAliveTimeout: 5_000,
  })

  closeConnectionsWhenDone(app)
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(securityHeaders)
  })

  await app.register(fastifyStatic, {
    root: config.distDir,
    prefix: '/',
    cacheControl: false,
    serveDotFiles: false,
    setHeaders (res, filePath) {
      res.setHeader('cache-control', filePath.startsWith(assetsDir) ? CACHE_ASSET : CACHE_HTML)
    },
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  // Static files only: ready as soon as it listens (the build was checked above).
  app.get('/readyz', async () => ({ status: 'ready', checks: { build: true } }))

  app.setNotFoundHandler(async (request, reply) => {
    if ((request.method === 'GET' || request.method === 'HEAD') && isClientRoute(request.url)) {
      return reply.header('cache-control', CACHE_HTML).sendFile('index.html')
    }
    const message = `no such file: ${request.method} ${request.url.split('?')[0]}`
    return reply.code(404).send(toPublicError({ statusCode: 404, message }).body)
  })

  app.addHook('onRequest', rejectMissingHost)
  app.setErrorHandler(async (error: Error & { code?: string, statusCode?: number }, request, reply) => {
    // Static files have no upstream: every 5xx is a plain 500.
    const failed = (error.statusCode ?? 500) >= 500
    const { statusCode, body } = toPublicError(failed ? {} : error)
    if (failed) request.log.error({ err: error }, 'request failed')
    return reply.code(statusCode).send(body)
  })

  return app
}
