/**
 * Browser protection, response headers on every gateway response: its own, proxied and
 * error ones. The policy is helmet's, but static, so helmet runs once at start-up and the
 * names and values it writes are kept; each response then gets them in the onSend hook
 * (app.ts), over any copy an upstream sent: the gateway's policy is the one a browser
 * sees. HSTS only when the request came over HTTPS (request.protocol, which believes
 * x-forwarded-proto only from TRUST_PROXY): over plain HTTP it means nothing (an
 * upstream's copy is dropped where it comes in, pipeline/mutate.ts).
 * @see https://helmetjs.github.io/
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'

/** The demo app runs with no inline script or style at all. */
export const CSP_DIRECTIVES: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'object-src': ["'none'"],
}

export const HSTS_VALUE = 'max-age=31536000; includeSubDomains'

export const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  // strict-origin-when-cross-origin (not no-referrer): a same-origin POST then still carries
  // its Origin, which the CSRF check needs; other sites see only the origin, never a path.
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  xFrameOptions: { action: 'deny' },
  strictTransportSecurity: false,
}

/** A response header as [lower-case name, value]. */
export type HeaderPair = readonly [string, string]

/** Writes the policy's headers on a reply; HSTS too when the request came over HTTPS. */
export type SecurityHeadersWriter = (reply: FastifyReply, https: boolean) => void

/** What helmet writes with these options, as [name, value] pairs (lower-case names). */
export function staticSecurityHeaders (options: HelmetOptions = HELMET_OPTIONS): readonly HeaderPair[] {
  const written = new Map<string, string>()
  const res = {
    setHeader: (name: string, value: string | number) => { written.set(name.toLowerCase(), String(value)) },
    removeHeader: (name: string) => { written.delete(name.toLowerCase()) },
  }
  let failure: unknown
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => { failure = err })
  if (failure !== undefined) throw failure
  return Object.freeze([...written].map((pair) => Object.freeze(pair)))
}

/** Writes the security headers on a reply (onSend: after any upstream headers were copied in). */
export function createSecurityHeaders (options: HelmetOptions = HELMET_OPTIONS): SecurityHeadersWriter {
  const headers = staticSecurityHeaders(options)
  return (reply, https) => {
    for (const [name, value] of headers) reply.header(name, value)
    if (https) reply.header('strict-transport-security', HSTS_VALUE)
  }
}
