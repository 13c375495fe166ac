/**
 * What the route plugins share: config, stores, keys, secrets. Built once in app.ts.
 */
import type { Redis } from 'ioredis'
import type { AuthConfig } from './config.js'
import type { Keyring } from './keys/keyring.js'
import type { Families } from './refresh/families.js'
import type { UsersStore } from './users/users-store.js'
import type { LoginThrottle } from './login-throttle.js'
import type { AccessTokenClaims } from './contract.js'

export interface AuthContext {
  config: Readonly<AuthConfig>
  redis: Redis
  users: UsersStore
  families: Families
  throttle: LoginThrottle
  keyring: Keyring
  secrets: { refreshTokenSecret: string, csrfSecret: string }
  dummyHash: string
  signAccessToken: (subject: { sub: string, sid: string, roles: string[] }) => Promise<string>
  verifyAccessToken: (token: string) => Promise<AccessTokenClaims>
}
