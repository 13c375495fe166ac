/**
 * Refresh: rotate the presented token (grace → the same successor, reuse → the family is
 * revoked and gateways are told), then mint a new access token.
 * - A token of a family removed by disabling its account is 403 account_disabled while the
 *   account stays disabled (looked up only when rotation failed: a refresh stays one round trip).
 * - A family bound to a DPoP key refreshes only with a proof by that key; without one nothing
 *   changes (no rotation, no reuse verdict) and the answer is 401 invalid_dpop_proof.
 */
import type { AuthEvents } from '../audit.js'
import {
  AccountDisabledError, InvalidDpopProofError, InvalidRefreshTokenError, RefreshReusedError,
} from '../errors.js'
import type { Families } from '../refresh/families.js'
import { parseRefreshToken, successorOf } from '../refresh/refresh-token.js'
import type { Revocations } from '../refresh/revocations.js'
import type { AccessTokens } from '../tokens/access-token.js'
import type { UsersStore } from '../users/users-store.js'
import { issueSession, type Caller, type IssuedSession } from './issue.js'

export interface RefreshDeps {
  families: Pick<Families, 'rotate' | 'now' | 'disabledOwnerOf'>
  users: Pick<UsersStore, 'findById'>
  revocations: Pick<Revocations, 'sessions'>
  tokens: Pick<AccessTokens, 'sign'>
  events: Pick<AuthEvents, 'refreshed' | 'refreshInvalid' | 'reuseDetected'>
  refreshTokenSecret: string
}

export interface RefreshInput extends Caller {
  /** As presented (body or cookie); anything that is not a refresh token is invalid. */
  refreshToken: unknown
}

/** Throws AUTH_ERR_INVALID_REFRESH, _REFRESH_REUSED, _ACCOUNT_DISABLED or _INVALID_DPOP_PROOF. */
export async function refresh (deps: RefreshDeps, input: RefreshInput): Promise<IssuedSession> {
  const parsed = parseRefreshToken(input.refreshToken)
  if (!parsed) {
    deps.events.refreshInvalid()
    throw new InvalidRefreshTokenError()
  }
  const successor = successorOf(parsed.token, deps.refreshTokenSecret)
  const result = await deps.families.rotate(parsed.familyId, parsed.token, successor, input.client, input.jkt)
  if (result.status === 'key_mismatch') {
    throw new InvalidDpopProofError('This session is bound to a DPoP key: refresh with a proof by that key')
  }
  if (result.status === 'reused') {
    // The script already deleted the family; the gateways drop its access tokens.
    await deps.revocations.sessions([result.familyId], deps.families.now())
    deps.events.reuseDetected(input.log, { sid: result.familyId, userId: result.userId, ...input.client })
    throw new RefreshReusedError()
  }
  if (result.status !== 'rotated') {
    deps.events.refreshInvalid()
    if (await disabledAccount(deps, parsed.familyId)) throw new AccountDisabledError()
    throw new InvalidRefreshTokenError()
  }
  deps.events.refreshed()
  const { familyId: sid, refreshToken, userId: sub, roles, jkt } = result
  return await issueSession(deps.tokens, { sid, refreshToken, sub, roles, jkt })
}

async function disabledAccount (deps: RefreshDeps, familyId: string): Promise<boolean> {
  const userId = await deps.families.disabledOwnerOf(familyId)
  return userId !== null && (await deps.users.findById(userId))?.disabled === true
}
