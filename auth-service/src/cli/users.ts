/**
 * `npm run users -- <command>` (scripts/users.ts is the entry point):
 * - `create [--admin] EMAIL [--password P]`: an account with roles user (and admin); without
 *   --password a random one is printed.
 * - `grant-admin EMAIL`: adds the admin role, also to the user's live sessions (their next
 *   refresh carries it).
 * - `find`, `sessions`, `end-sessions`, `disable`, `enable`: the admin operations (users-admin.ts).
 * - Redis and its prefix come from the auth service's own config (REDIS_URL, REDIS_PREFIX...).
 */
import { randomBytes } from 'node:crypto'
import { loadConfig, type AuthConfig } from '../config.js'
import { hashPassword, passwordProblem } from '../passwords.js'
import { createRedisClient, type RedisClient } from '../redis.js'
import { createFamilies } from '../refresh/families.js'
import { checkEmail, normaliseEmail } from '../users/email.js'
import { createUsersStore } from '../users/users-store.js'
import { safeUrl } from '../../../services/kernel/logging.js'
import type { CliIo } from './io.js'
import { ADMIN_COMMANDS, ADMIN_USAGE, runAdminCommand, type AdminCommand } from './users-admin.js'

export const USERS_USAGE = 'usage: npm run users -- create [--admin] EMAIL [--password P]\n' +
  '       npm run users -- grant-admin EMAIL\n' + ADMIN_USAGE

interface Args { command?: string, email: string, positional: string[], flags: Set<string>, password?: string }

function parseArgs (argv: string[]): Args {
  const [command, ...rest] = argv
  const flags = new Set<string>()
  const positional: string[] = []
  let password: string | undefined
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!
    if (a === '--password') password = rest[++i]
    else if (a.startsWith('--')) flags.add(a)
    else positional.push(a)
  }
  return { command, email: positional[0] ? normaliseEmail(positional[0]) : '', positional, flags, password }
}

const isAdminCommand = (command: string | undefined): command is AdminCommand =>
  (ADMIN_COMMANDS as readonly string[]).includes(command ?? '')

/** How many positional arguments each command takes (EMAIL, and end-sessions' optional session id). */
function arityOk (args: Args): boolean {
  const n = args.positional.length
  if (args.command === 'create' || args.command === 'grant-admin') return n === 1
  if (args.command === 'end-sessions') return n === 1 || n === 2
  return isAdminCommand(args.command) && n === 1
}

export async function runUsersCli (argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv)
  if (!arityOk(args) || !checkEmail(args.email).ok) {
    io.err(USERS_USAGE)
    return 2
  }
  try {
    const config = loadConfig(io.env)
    const redis = await connect(config, io)
    if (!redis) return 1
    try {
      if (isAdminCommand(args.command)) {
        return await runAdminCommand(redis, config,
          { command: args.command, email: args.email, sessionId: args.positional[1] }, io)
      }
      return args.command === 'create'
        ? await create(redis, config, args, io)
        : await grantAdmin(redis, config, args, io)
    } finally {
      redis.disconnect()
    }
  } catch (err) {
    io.err((err as Error).message)
    return 1
  }
}

async function connect (config: Readonly<AuthConfig>, io: CliIo): Promise<RedisClient | null> {
  const redis = createRedisClient(config.redisUrl, config.redisCommandTimeout, config.redisClusterNodes)
  redis.on('error', () => {})
  try {
    await redis.connect()
    return redis
  } catch {
    io.err(`cannot reach Redis at ${safeUrl(config.redisUrl)} (set REDIS_URL)`)
    redis.disconnect()
    return null
  }
}

async function create (redis: RedisClient, config: Readonly<AuthConfig>, args: Args, io: CliIo): Promise<number> {
  const password = args.password ?? randomBytes(12).toString('base64url')
  const problem = passwordProblem(password)
  if (problem) {
    io.err(problem.message)
    return 1
  }
  const roles = args.flags.has('--admin') ? ['user', 'admin'] : ['user']
  const users = createUsersStore(redis, config.redisPrefix)
  const user = await users.create({ email: args.email, name: '', passwordHash: await hashPassword(password), roles })
  if (!user) {
    io.err(`${args.email} already exists`)
    return 1
  }
  io.out(`created ${user.email} (id ${user.id}, roles ${roles.join(',')})`)
  if (args.password === undefined) io.out(`password: ${password}`)
  return 0
}

async function grantAdmin (redis: RedisClient, config: Readonly<AuthConfig>, args: Args, io: CliIo): Promise<number> {
  const users = createUsersStore(redis, config.redisPrefix)
  const user = await users.findByEmail(args.email)
  if (!user) {
    io.err(`no user ${args.email}`)
    return 1
  }
  const roles = user.roles.includes('admin') ? user.roles : [...user.roles, 'admin']
  await users.setRoles(user.id, roles)
  // Live sessions carry a roles snapshot (refresh mints tokens in one Redis round trip).
  await createFamilies(redis, { ...config, prefix: config.redisPrefix }).setRoles(user.id, roles)
  io.out(`${user.email} now has roles ${roles.join(',')}`)
  return 0
}
