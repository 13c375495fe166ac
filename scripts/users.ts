/**
 * `npm run users -- create [--admin] EMAIL [--password P]`: create an account directly in
 * Redis (roles ['user'] or ['user','admin']); without --password a random one is printed.
 * `npm run users -- grant-admin EMAIL`: add the admin role (also to the user's live
 * sessions, so their next refresh carries it).
 * Uses REDIS_URL (or REDIS_CLUSTER_NODES) and REDIS_PREFIX like the auth service.
 */
import { randomBytes } from 'node:crypto'
import { ConfigError, loadConfig } from '../auth-service/src/config.js'
import { hashPassword, passwordProblem } from '../auth-service/src/passwords.js'
import { createRedisClient } from '../auth-service/src/redis.js'
import { createFamilies } from '../auth-service/src/refresh/families.js'
import { EMAIL_PATTERN, createUsersStore, normaliseEmail } from '../auth-service/src/users/users-store.js'
import { safeUrl } from './start/setup.js'

const USAGE = 'usage: npm run users -- create [--admin] EMAIL [--password P]\n       npm run users -- grant-admin EMAIL'

function parse (argv: string[]) {
  const flags = new Set<string>()
  const positional: string[] = []
  let password: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--password') password = argv[++i]
    else if (a.startsWith('--')) flags.add(a)
    else positional.push(a)
  }
  return { flags, positional, password }
}

async function main (): Promise<number> {
  const [command, ...rest] = process.argv.slice(2)
  const { flags, positional, password: given } = parse(rest)
  const email = positional[0] ? normaliseEmail(positional[0]) : ''
  if ((command !== 'create' && command !== 'grant-admin') || !EMAIL_PATTERN.test(email) || positional.length !== 1) {
    console.error(USAGE)
    return 2
  }
  const config = loadConfig(process.env)
  const redis = createRedisClient(config.redisUrl, config.redisCommandTimeout, config.redisClusterNodes)
  redis.on('error', () => {})
  try {
    await redis.connect()
  } catch {
    console.error(`cannot reach Redis at ${safeUrl(config.redisUrl)} (set REDIS_URL)`)
    redis.disconnect()
    return 1
  }
  try {
    const users = createUsersStore(redis, config.redisPrefix)
    if (command === 'create') {
      const password = given ?? randomBytes(12).toString('base64url')
      const problem = passwordProblem(password)
      if (problem) {
        console.error(problem)
        return 1
      }
      const roles = flags.has('--admin') ? ['user', 'admin'] : ['user']
      const user = await users.create({ email, name: '', passwordHash: await hashPassword(password), roles })
      if (!user) {
        console.error(`${email} already exists`)
        return 1
      }
      console.log(`created ${user.email} (id ${user.id}, roles ${roles.join(',')})`)
      if (!given) console.log(`password: ${password}`)
      return 0
    }
    const user = await users.findByEmail(email)
    if (!user) {
      console.error(`no user ${email}`)
      return 1
    }
    const roles = user.roles.includes('admin') ? user.roles : [...user.roles, 'admin']
    await users.setRoles(user.id, roles)
    // Live sessions carry a roles snapshot (refresh mints tokens in one Redis round trip).
    // No refresh token is minted or checked here, so no refresh-token secret is needed.
    const families = createFamilies(redis, { ...config, prefix: config.redisPrefix, refreshTokenSecret: '' })
    await families.setRoles(user.id, roles)
    console.log(`${user.email} now has roles ${roles.join(',')}`)
    return 0
  } finally {
    redis.disconnect()
  }
}

try {
  process.exitCode = await main()
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : (err as Error).message)
  process.exitCode = 1
}
