/**
 * Browser protection, response headers (@fastify/helmet) on every gateway response: its
 * own, proxied and error ones. Registered right after the strip hook, so even a request
 * refused by authentication gets them. Helmet writes them on the raw response; reply-from
 * copies the upstream's headers onto the reply, which would win at writeHead, so onSend
 * writes helmet's values over the upstream's copies: the gateway's policy is the one a
 * browser sees. HSTS only when the request came over HTTPS (request.protocol, which
 * believes x-forwarded-proto only from TRUST_PROXY): over plain HTTP it means nothing.
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

/** Headers helmet may write; where it wrote one, an upstream's copy is overwritten. */
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

export function registerSecurityHeaders (app: FastifyInstance): void {
  app.register(helmet, HELMET_OPTIONS)
  app.addHook('onSend', async (request, reply, payload) => {
    for (const name of HELMET_HEADERS) {
      const ours = reply.raw.getHeader(name)
      if (ours !== undefined) reply.header(name, ours)
    }
    if (request.gatewayProtocol === 'https') reply.header('strict-transport-security', HSTS_VALUE)
    else reply.removeHeader('strict-transport-security')
    return payload
  })
}
