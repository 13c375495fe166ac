/**
 * Accounts in Redis: `<prefix>user:{<id>}` (hash) and the unique email index
 * `<prefix>email:<normalised email>` → id (SET NX, so concurrent sign-ups of one email
 * give exactly one account).
 * - `disabled` is the hash field `disabled` = "1" (absent or "0": enabled); set by admins.
 */
import { randomUUID } from 'node:crypto'
import type { RedisClient } from '../redis.js'
import { normaliseEmail } from './email.js'

export interface User {
  id: string
  email: string
  name: string
  roles: string[]
  createdAt: string
}

export interface StoredUser extends User {
  passwordHash: string
  disabled: boolean
}

export interface UsersStore {
  /** Creates the account, or returns null when the email is taken. */
  create: (input: { email: string, name: string, passwordHash: string, roles?: string[] }) => Promise<StoredUser | null>
  findByEmail: (email: string) => Promise<StoredUser | null>
  findById: (id: string) => Promise<StoredUser | null>
  setRoles: (id: string, roles: string[]) => Promise<void>
  /** Only on an existing account (findById first). */
  setDisabled: (id: string, disabled: boolean) => Promise<void>
}

export function publicUser ({ id, email, name, roles, createdAt }: User): User {
  return { id, email, name, roles, createdAt }
}

export function createUsersStore (redis: RedisClient, prefix: string): UsersStore {
  const userKey = (id: string) => `${prefix}user:{${id}}`
  const emailKey = (email: string) => `${prefix}email:${email}`

  const findById = async (id: string): Promise<StoredUser | null> => {
    const h = await redis.hgetall(userKey(id))
    if (!h.id || !h.email || !h.passwordHash) return null
    return {
      id: h.id,
      email: h.email,
      name: h.name ?? '',
      roles: JSON.parse(h.roles ?? '["user"]') as string[],
      createdAt: h.createdAt ?? '',
      passwordHash: h.passwordHash,
      disabled: h.disabled === '1',
    }
  }

  return {
    async create ({ email, name, passwordHash, roles = ['user'] }) {
      const user: StoredUser = {
        id: randomUUID(),
        email: normaliseEmail(email),
        name,
        roles,
        createdAt: new Date().toISOString(),
        passwordHash,
        disabled: false,
      }
      // The record first, then the index: a crash in between leaves an unreachable
      // record, never an email that points at nothing.
      await redis.hset(userKey(user.id), { ...user, roles: JSON.stringify(roles), disabled: '0' })
      const claimed = await redis.set(emailKey(user.email), user.id, 'NX')
      if (claimed !== 'OK') {
        await redis.del(userKey(user.id))
        return null
      }
      return user
    },
    async findByEmail (email) {
      const id = await redis.get(emailKey(normaliseEmail(email)))
      return id ? await findById(id) : null
    },
    findById,
    async setRoles (id, roles) {
      await redis.hset(userKey(id), 'roles', JSON.stringify(roles))
    },
    async setDisabled (id, disabled) {
      await redis.hset(userKey(id), 'disabled', disabled ? '1' : '0')
    },
  }
}
