/**
 * The shared skeleton of a demo service: Fastify with TypeBox, strict body validation,
 * the identity plugin, the one error handler and GET /healthz. Each service adds its routes.
 */
import Fastify, {
  type FastifyInstance, type FastifyBaseLogger,
  type RawServerDefault, type RawRequestDefaultExpression, type RawReplyDefaultExpression,
} from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import websocket from '@fastify/websocket'
import { IDENTITY_HEADERS } from '../../gateway/src/contract.js'
import { identityPlugin, type IdentityPluginOptions } from './identity.js'
import { errorHandler, notFoundHandler } from './errors.js'
import { closeConnectionsWhenDone } from '../kernel/shutdown.js'
import { BODY_LIMIT } from '../kernel/limits.js'
import { rejectMissingHost, SERVER_ERROR_OPTIONS } from '../kernel/http-errors.js'
import { loggerOptions } from '../kernel/logging.js'

export type ServiceApp = FastifyInstance<
  RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider
>

export interface ServiceAppOptions {
  name: string
  /** Pino level of a redacting logger (see loggerOptions); absent for none (tests). */
  logLevel?: string
  /** IDENTITY_ASSERTION and its settings (config.ts); absent: off. */
  identityAssertion?: IdentityPluginOptions['assertion']
  /** An assertion verifier of the caller's (tests). */
  assertionVerifier?: IdentityPluginOptions['verifier']
  /** Routes with `{ websocket: true }` (@fastify/websocket), messages up to this many bytes. */
  websocket?: { maxPayload: number }
}

export function createServiceApp (opts: ServiceAppOptions): ServiceApp {
  const app = Fastify({
    ...SERVER_ERROR_OPTIONS,
    logger: opts.logLevel ? loggerOptions(opts.logLevel) : false,
    bodyLimit: BODY_LIMIT,
    requestIdHeader: IDENTITY_HEADERS.requestId,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    // Reject unknown or mistyped fields instead of silently dropping or coercing them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // JSON only: any other body is 415 `unsupported_media_type`, not a confusing schema error.
  app.removeContentTypeParser('text/plain')
  // First, so its hooks see every upgrade, also one the identity check refuses (its socket is closed after the answer).
  if (opts.websocket) app.register(websocket, { options: { maxPayload: opts.websocket.maxPayload } })
  app.addHook('onRequest', rejectMissingHost)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)
  app.register(identityPlugin, { assertion: opts.identityAssertion, verifier: opts.assertionVerifier })
  closeConnectionsWhenDone(app)
  app.get('/healthz', { config: { identity: false } }, async () => ({ status: 'ok', service: opts.name }))
  // No dependencies (in-memory stores): ready as soon as it listens.
  app.get('/readyz', { config: { identity: false } }, async () => ({ status: 'ready', service: opts.name, checks: {} }))
  return app
}
