/**
 * The contract's error body for what Fastify answers before any route or hook runs: a
 * request Node's parser refuses (clientError), a bad URL, a missing Host.
 * - `SERVER_ERROR_OPTIONS` goes into every process's `Fastify({...})`.
 * - `rejectMissingHost` is the first onRequest hook: Node's own check would answer an
 *   HTTP/1.1 request without Host with an empty 400, so it is turned off and done here.
 * @see https://fastify.dev/docs/latest/Reference/Server/#clienterrorhandler
 */
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import { toPublicError, type PublicErrorBody } from './public-error.js'

const CLIENT_ERRORS: Readonly<Record<string, readonly [number, string, string]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request took too long to arrive'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are too large'],
}
const MALFORMED: readonly [number, string, string] = [400, 'invalid_request', 'Malformed HTTP request']

/** The raw answer to a request Node's HTTP parser refused; the socket closes after it. */
export function clientErrorAnswer (code: string | undefined): string {
  const [statusCode, error, message] = CLIENT_ERRORS[code ?? ''] ?? MALFORMED
  const body = JSON.stringify({ error, message, statusCode } satisfies PublicErrorBody)
  return `HTTP/1.1 ${statusCode} ${error}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  if (socket.writable) socket.write(clientErrorAnswer(err.code))
  socket.destroy()
}

function frameworkErrors (err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { statusCode, body } = toPublicError({ code: err.code, statusCode: 400, message: err.message })
  reply.code(statusCode).header('connection', 'close').send(body)
}

export const SERVER_ERROR_OPTIONS = Object.freeze({
  clientErrorHandler,
  frameworkErrors,
  http: { requireHostHeader: false },
}) satisfies Partial<FastifyServerOptions>

export const MISSING_HOST_BODY: PublicErrorBody = Object.freeze({
  error: 'invalid_request', message: 'The Host header is required', statusCode: 400,
})

/** onRequest: HTTP/1.1 without Host is a 400 in the contract's shape (RFC 9112 section 3.2). */
export function rejectMissingHost (request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const raw = request.raw
  if (raw.headers.host === undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1) {
    reply.code(400).header('connection', 'close').send(MISSING_HOST_BODY)
    return
  }
  done()
}
