/**
 * Refresh-token format: `<familyId>.<secret>` (base64url, 128-bit family id, 256-bit
 * secret). The family id finds the family without a scan; the secret is only ever stored
 * as its SHA-256. A successor is derived from the presented token by HMAC under the
 * server secret, so a retried refresh yields the same successor with nothing secret stored.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'

const TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/

export interface ParsedRefreshToken {
  familyId: string
  token: string
}

export function newFamilyId (): string {
  return randomBytes(16).toString('base64url')
}

export function newRefreshToken (familyId: string): string {
  return `${familyId}.${randomBytes(32).toString('base64url')}`
}

export function parseRefreshToken (value: unknown): ParsedRefreshToken | null {
  if (typeof value !== 'string') return null
  const m = TOKEN_PATTERN.exec(value)
  return m?.[1] ? { familyId: m[1], token: value } : null
}

export function hashRefreshToken (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export function successorOf (token: string, serverSecret: string): string {
  const familyId = token.slice(0, token.indexOf('.'))
  return `${familyId}.${createHmac('sha256', serverSecret).update(`refresh:${token}`).digest('base64url')}`
}
