/**
 * Response headers for the SPA. The CSP allows only same-origin scripts and styles (no
 * inline code at all), so an injected <script> or style attribute does nothing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not no-referrer: a same-origin POST must keep its Origin for the gateway's CSRF check.
  'referrer-policy': 'strict-origin-when-cross-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
})

/** index.html must be revalidated on every load: it names the current hashed assets. */
export const CACHE_HTML = 'no-cache'
/** Vite's /assets/* names carry a content hash, so they never change. */
export const CACHE_ASSET = 'public, max-age=31536000, immutable'
