/**
 * Password hashing (argon2id, OWASP parameters, off the event loop) and the password rule.
 */
import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2'

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

/** The rule's violation message, or null when the password is acceptable. */
export function passwordProblem (password: string): string | null {
  const length = [...password].length
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) return `${PASSWORD_RULE} (got ${length})`
  return null
}

export async function hashPassword (password: string): Promise<string> {
  return await hash(password, ARGON2_OPTIONS)
}

export async function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

/**
 * A hash of a random password, made once at start-up: logins for unknown emails verify
 * against it, so they cost the same as logins for known ones (no timing oracle).
 */
export async function createDummyHash (): Promise<string> {
  return await hashPassword(`dummy-${Math.random()}-${Date.now()}`)
}
