/**
 * Password hashing (argon2id, OWASP parameters, off the event loop) and the password rule.
 * - Any Unicode is allowed; it is NFKC-normalised before it is counted, hashed or verified
 *   (NIST SP 800-63B 5.1.1.2), so the same password typed on another keyboard still matches.
 * - A lone surrogate is refused: it is not text and has no UTF-8 form.
 * - Each hash and verify is a span (`argon2 hash`, `argon2 verify`) while tracing is on.
 */
import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2'
import { inSpan } from '../../services/kernel/tracing.js'
import { hasLoneSurrogate } from './text.js'

/** OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1. */
export const ARGON2_OPTIONS: Options = {
  algorithm: 2 as Algorithm, // Argon2id (a const enum we cannot reference under isolated modules)
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
}

export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 128
export const PASSWORD_RULE = `Password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`

export interface PasswordProblem {
  message: string
  /** true: the rule (weak_password); false: not text at all (invalid_request). */
  weak: boolean
}

/** What is wrong with the password, or null when it is acceptable. */
export function passwordProblem (password: string): PasswordProblem | null {
  if (hasLoneSurrogate(password)) return { message: 'password must be Unicode text (no lone surrogates)', weak: false }
  const length = [...password.normalize('NFKC')].length
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) return { message: `${PASSWORD_RULE} (got ${length})`, weak: true }
  return null
}

const SPAN_ATTRIBUTES = {
  'argon2.memory_cost': ARGON2_OPTIONS.memoryCost!,
  'argon2.time_cost': ARGON2_OPTIONS.timeCost!,
}

export async function hashPassword (password: string): Promise<string> {
  return await inSpan('argon2 hash', SPAN_ATTRIBUTES, () => hash(password.normalize('NFKC'), ARGON2_OPTIONS))
}

export async function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
  return await inSpan('argon2 verify', SPAN_ATTRIBUTES, async () => {
    try {
      return await verify(passwordHash, password.normalize('NFKC'))
    } catch {
      return false
    }
  })
}

/**
 * A hash of a random password, made once at start-up: logins for unknown emails verify
 * against it, so they cost the same as logins for known ones (no timing oracle).
 */
export async function createDummyHash (): Promise<string> {
  return await hashPassword(`dummy-${Math.random()}-${Date.now()}`)
}
