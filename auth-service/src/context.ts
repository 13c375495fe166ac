/**
 * What the route plugins share: config, stores, keys, secrets. Built once in app.ts.
 */
import type { RedisClient } from './redis.js'
import type { AuthConfig } from './config.js'
import type { Keyring } from './keys/keyring.js'
import type { Families } from './refresh/families.js'
import type { UsersStore } from './users/users-store.js'
import type { LoginThrottle } from './login-throttle.js'
import type { AccessTokenClaims } from './contract.js'
import type { AuthEvents } from './audit.js'

export interface AuthContext {
  config: Readonly<AuthConfig>
  redis: RedisClient
  users: UsersStore
  families: Families
  throttle: LoginThrottle
  keyring: Keyring
  secrets: { refreshTokenSecret: string, csrfSecret: string }
  dummyHash: string
  signAccessToken: (subject: { sub: string, sid: string, roles: string[] }) => Promise<string>
  verifyAccessToken: (token: string) => Promise<AccessTokenClaims>
  /** Security events: metrics + audit log lines (audit.ts). */
  events: AuthEvents
}
