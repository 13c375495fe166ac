/**
 * Pipeline stage 1, strip: every client-sent header that could pose as identity goes, before
 * anything reads a header.
 *
 * - `x-user-*`, `x-session-id`, `x-identity-token`: any case, `_` variants, every copy
 * - every header a `Connection:` header names, the other hop-by-hop headers
 * - the client's forwarding headers (the session read the client address first)
 * - run again on the outgoing headers by mutate.ts (defence in depth)
 */
import type { IncomingHttpHeaders } from 'node:http'
import { isIdentityHeaderName } from '../contract.js'
import { connectionListed } from './http.js'
import type { Stage } from './stage.js'

/** Hop-by-hop headers (RFC 9110 7.6.1) that never travel past the gateway; reply-from handles `connection`. */
const HOP_BY_HOP = new Set(['keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'])
/** Connection may name these, but removing them would break the request itself. */
const KEEP_EVEN_IF_LISTED = new Set(['host', 'content-length', 'transfer-encoding', 'content-type'])

function isForwardingHeader (name: string): boolean {
  const folded = name.replaceAll('_', '-')
  return folded.startsWith('x-forwarded-') || folded === 'forwarded' || folded === 'x-real-ip'
}

function removeListed (headers: IncomingHttpHeaders, name: string, underscored = name.replaceAll('-', '_')): void {
  if (KEEP_EVEN_IF_LISTED.has(name)) return
  if (headers[name] !== undefined) delete headers[name]
  if (headers[underscored] !== undefined) delete headers[underscored]
}

/** Lower-cased first letters of every name that may have to go (x-*, forwarded, hop-by-hop). */
const FIRST_LETTERS = new Set([...'xfkptu'].map((c) => c.charCodeAt(0)))

/** Removes, in place, the headers no client may set. Node already lowercases names and folds copies. */
export function stripClientHeaders (headers: IncomingHttpHeaders): void {
  const connection = headers.connection
  // The usual values name nothing but themselves: no split.
  if (connection === 'keep-alive') removeListed(headers, connection, 'keep_alive')
  else if (connection === 'close') removeListed(headers, connection, connection)
  else for (const name of connectionListed(connection)) removeListed(headers, name)
  for (const name in headers) {
    if (!FIRST_LETTERS.has(name.charCodeAt(0) | 0x20)) continue // most names: host, accept, content-*, cookie...
    const lower = name.toLowerCase()
    if (isIdentityHeaderName(lower) || isForwardingHeader(lower) || HOP_BY_HOP.has(lower)) delete headers[name]
  }
}

export const stripStage: Stage = (request) => { stripClientHeaders(request.raw.headers) }
