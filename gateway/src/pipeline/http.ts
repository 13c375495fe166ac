/**
 * HTTP helpers the stages and the response side share, so no stage imports another for them.
 *
 * - paths as the upstream router sees them (canonicalPath)
 * - Cookie and Connection header parsing
 * - the unsafe methods (CSRF)
 */

export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** The path as the upstream router would see it: decoded, lower case, single slashes, no trailing slash. */
export function canonicalPath (url: string): string {
  let path = url.split('?')[0] ?? '/'
  try { path = decodeURIComponent(path) } catch {}
  path = path.toLowerCase().replace(/\/{2,}/g, '/')
  return path.length > 1 ? path.replace(/\/+$/, '') : path
}

/** Every value of the named cookie in a Cookie header (copies included), undecoded. */
export function cookieValues (cookieHeader: string | undefined, name: string): string[] {
  if (!cookieHeader) return []
  const out: string[] = []
  for (const pair of cookieHeader.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    if (pair.slice(0, eq).trim() === name) {
      let value = pair.slice(eq + 1).trim()
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
      out.push(value)
    }
  }
  return out
}

/** Names listed in Connection headers (all copies), lowercased. */
export function connectionListed (value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const joined = Array.isArray(value) ? value.join(',') : value
  return joined.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0)
}

/** A header's value when it came once; undefined when absent or repeated. */
export const headerString = (value: string | string[] | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined
