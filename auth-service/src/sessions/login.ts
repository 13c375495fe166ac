/**
 * Login: throttle check, password check (constant cost), progressive delay, new session, audit.
 * - A disabled account is refused (403) only after its password proved right, so the answer
 *   tells nothing to someone without the password.
 */
import { setTimeout } from 'node:timers/promises'
import type { AuthEvents } from '../audit.js'
import { AccountDisabledError, InvalidCredentialsError, rateLimitedError } from '../errors.js'
import { failureDelayMs, type LoginThrottle } from '../login-throttle.js'
import { verifyPassword } from '../passwords.js'
import type { Families } from '../refresh/families.js'
import type { AccessTokens } from '../tokens/access-token.js'
import { normaliseEmail } from '../users/email.js'
import type { UsersStore } from '../users/users-store.js'
import { issueSession, type Caller, type IssuedSession } from './issue.js'

export interface LoginDeps {
  users: Pick<UsersStore, 'findByEmail' | 'findById'>
  families: Pick<Families, 'create' | 'remove'>
  throttle: LoginThrottle
  tokens: Pick<AccessTokens, 'sign'>
  events: Pick<AuthEvents, 'loginFailed' | 'loginSucceeded'>
  /** A hash made at start-up: unknown emails are verified against it (createDummyHash). */
  dummyHash: string
}

export interface LoginInput extends Caller {
  email: string
  password: string
}

/** Throws AUTH_ERR_RATE_LIMITED (with retryAfter), AUTH_ERR_INVALID_CREDENTIALS or AUTH_ERR_ACCOUNT_DISABLED. */
export async function login (deps: LoginDeps, input: LoginInput): Promise<IssuedSession> {
  const { client, log } = input
  const email = normaliseEmail(input.email)
  const wait = await deps.throttle.retryAfter(email, client.ip)
  if (wait > 0) {
    deps.events.loginFailed(log, { email, reason: 'throttled', ...client })
    throw rateLimitedError(wait)
  }
  const user = await deps.users.findByEmail(email)
  // Unknown email: verify against the start-up dummy hash, so both cases cost the same.
  const ok = await verifyPassword(user?.passwordHash ?? deps.dummyHash, input.password)
  if (!user || !ok) {
    const failures = await deps.throttle.recordFailure(email, client.ip)
    deps.events.loginFailed(log, { email, reason: 'invalid_credentials', ...client })
    // Slows guessing down before the hard 429; known and unknown emails wait alike.
    await setTimeout(failureDelayMs(failures))
    throw new InvalidCredentialsError()
  }
  await deps.throttle.reset(email, client.ip)
  if (user.disabled) {
    deps.events.loginFailed(log, { email, reason: 'account_disabled', ...client })
    throw new AccountDisabledError()
  }
  const { familyId, refreshToken } = await deps.families.create(user.id, user.roles, client, input.jkt)
  // A disable that ran while this login was under way: it sets the flag before it lists the
  // sessions, so either it removed this family or this re-read sees the flag.
  if ((await deps.users.findById(user.id))?.disabled !== false) {
    await deps.families.remove(familyId, user.id)
    deps.events.loginFailed(log, { email, reason: 'account_disabled', ...client })
    throw new AccountDisabledError()
  }
  deps.events.loginSucceeded(log, { userId: user.id, email, sid: familyId, ...client })
  const issued = { sid: familyId, refreshToken, sub: user.id, roles: user.roles, user, jkt: input.jkt }
  return await issueSession(deps.tokens, issued)
}
