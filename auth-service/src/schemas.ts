/**
 * Request/response schemas (TypeBox: validation and types from one source). Every object
 * is closed (additionalProperties: false) and every string bounded.
 */
import { Type } from 'typebox'

const TokenDelivery = Type.Union([Type.Literal('cookie'), Type.Literal('body')], {
  description: '"body" for non-browser clients: the refresh token comes back in the body and no cookies are set',
})

// Bounded but longer than the password rule allows, so an over-long password gets the
// rule's message (weak_password), not a schema error.
const Password = Type.String({ minLength: 1, maxLength: 1024 })
const RefreshTokenField = Type.String({ minLength: 1, maxLength: 256 })

export const RegisterBody = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 254 }),
  password: Password,
  name: Type.Optional(Type.String({ maxLength: 100 })),
  tokenDelivery: Type.Optional(TokenDelivery),
}, { additionalProperties: false })

export const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Password,
  tokenDelivery: Type.Optional(TokenDelivery),
}, { additionalProperties: false })

/** refresh and logout: the body is optional (browsers send the cookie). */
export const RefreshBody = Type.Object({
  refreshToken: Type.Optional(RefreshTokenField),
}, { additionalProperties: false })

export const SessionParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
}, { additionalProperties: false })

/** Account ids are UUIDs (users-store.ts), session ids 128-bit base64url (refresh-token.ts). */
const UserId = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })
const SessionId = Type.String({ pattern: '^[A-Za-z0-9_-]{22}$' })

export const AdminUsersQuery = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
}, { additionalProperties: false })

export const AdminUserParams = Type.Object({ id: UserId }, { additionalProperties: false })

export const AdminSessionParams = Type.Object({ id: UserId, sid: SessionId }, { additionalProperties: false })
