/**
 * Register: a new account (email unique, password per the rule, argon2id) and its first session.
 */
import { EmailTakenError, InvalidRequestError, WeakPasswordError } from '../errors.js'
import { hashPassword, passwordProblem } from '../passwords.js'
import type { Families } from '../refresh/families.js'
import type { AccessTokens } from '../tokens/access-token.js'
import { hasControlCharacter, hasLoneSurrogate } from '../text.js'
import { checkEmail } from '../users/email.js'
import type { UsersStore } from '../users/users-store.js'
import { issueSession, type Caller, type IssuedSession } from './issue.js'

export interface RegisterDeps {
  users: UsersStore
  families: Pick<Families, 'create'>
  tokens: Pick<AccessTokens, 'sign'>
}

export interface RegisterInput extends Caller {
  email: string
  password: string
  name?: string
}

export async function register (deps: RegisterDeps, input: RegisterInput): Promise<IssuedSession> {
  const checked = checkEmail(input.email)
  if (!checked.ok) throw new InvalidRequestError(checked.problem)
  const { email } = checked
  const name = input.name?.trim().normalize('NFC') ?? ''
  if (hasControlCharacter(name) || hasLoneSurrogate(name)) {
    throw new InvalidRequestError('name must be printable text (no control characters or lone surrogates)')
  }
  const problem = passwordProblem(input.password)
  if (problem) throw problem.weak ? new WeakPasswordError(problem.message) : new InvalidRequestError(problem.message)
  if (await deps.users.findByEmail(email)) throw new EmailTakenError()
  const passwordHash = await hashPassword(input.password)
  const user = await deps.users.create({ email, name, passwordHash })
  if (!user) throw new EmailTakenError()
  const { familyId, refreshToken } = await deps.families.create(user.id, user.roles, input.client, input.jkt)
  const issued = { sid: familyId, refreshToken, sub: user.id, roles: user.roles, user, jkt: input.jkt }
  return await issueSession(deps.tokens, issued)
}
