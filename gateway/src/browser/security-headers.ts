/**
 * Browser protection, response headers (@fastify/helmet) on every gateway response: its
 * own, proxied and error ones. Registered right after the strip hook, so even a request
 * refused by authentication gets them. Helmet writes them on the raw response; an
 * upstream's copies would win at writeHead, so the proxy drops them where they come in
 * (withoutUpstreamSecurityHeaders, proxy.ts): the gateway's policy is the one a browser
 * sees. HSTS only when the request came over HTTPS (request.protocol, which believes
 * x-forwarded-proto only from TRUST_PROXY): over plain HTTP it means nothing.
 * @see https://github.com/fastify/fastify-helmet
 */
import type { FastifyInstance } from 'fastify'
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet'

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

/** Headers helmet may write. */
export const HELMET_HEADERS = [
  'content-security-policy', 'content-security-policy-report-only', 'cross-origin-opener-policy',
  'cross-origin-resource-policy', 'cross-origin-embedder-policy', 'origin-agent-cluster', 'referrer-policy',
  'x-content-type-options', 'x-dns-prefetch-control', 'x-download-options', 'x-frame-options',
  'x-permitted-cross-domain-policies', 'x-xss-protection',
] as const

export const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  // strict-origin-when-cross-origin (not no-referrer): a same-origin POST then still carries
  // its Origin, which the CSRF check needs; other sites see only the origin, never a path.
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  xFrameOptions: { action: 'deny' },
  strictTransportSecurity: false,
}

/** Response headers that are the gateway's alone to set. */
const GATEWAY_OWNED: readonly string[] = [...HELMET_HEADERS, 'strict-transport-security']

/** An upstream response's headers without the ones the gateway sets (reply-from rewriteHeaders). */
export function withoutUpstreamSecurityHeaders<H extends Record<string, unknown>> (headers: H): H {
  for (const name of GATEWAY_OWNED) delete headers[name]
  return headers
}

export function registerSecurityHeaders (app: FastifyInstance): void {
  app.register(helmet, HELMET_OPTIONS)
  app.addHook('onRequest', async (request, reply) => {
    if (request.gatewayProtocol === 'https') reply.raw.setHeader('strict-transport-security', HSTS_VALUE)
  })
}
