import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { decodeJwt } from 'jose'
import { REPO_ROOT } from '../../../scripts/testing/node-process.js'
import { build, PASSWORD, refreshBody, session, uniqueEmail } from '../helper.js'

const run = promisify(execFile)

async function users (env: Record<string, string>, ...args: string[]) {
  return await run(process.execPath, ['--import', 'tsx', 'scripts/users.ts', ...args], {
    cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 30_000,
  }).then(({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number, stderr: string }) => ({ code: err.code, stdout: err.stderr }))
}

t.test('npm run users -- create / grant-admin', async (t) => {
  const { app, redisUrl, prefix } = await build(t)
  const env = { REDIS_URL: redisUrl, REDIS_PREFIX: prefix }

  const admin = uniqueEmail('admin')
  const created = await users(env, 'create', '--admin', admin, '--password', PASSWORD)
  t.equal(created.code, 0)
  t.match(created.stdout, /roles user,admin/)
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: admin, password: PASSWORD } })
  t.equal(login.statusCode, 200, 'the created user can log in')
  t.same(decodeJwt(login.json().accessToken).roles, ['user', 'admin'])
  t.equal((await users(env, 'create', admin, '--password', PASSWORD)).code, 1, 'a taken email fails')
  const weak = await users(env, 'create', uniqueEmail(), '--password', 'short')
  t.equal(weak.code, 1)
  t.match(weak.stdout, /10 to 128/)

  const s = await session(app)
  const granted = await users(env, 'grant-admin', s.user.email)
  t.equal(granted.code, 0)
  const r = await refreshBody(app, s.refreshToken)
  t.same(decodeJwt(r.json().accessToken).roles, ['user', 'admin'], 'the live session picks up the role on refresh')
  t.equal((await users(env, 'grant-admin', uniqueEmail('ghost'))).code, 1, 'unknown user fails')
  t.equal((await users(env, 'frobnicate')).code, 2, 'usage error')
})

t.test('npm run users -- find / sessions / end-sessions / disable / enable: the admin operations', async (t) => {
  const { app, redisUrl, prefix } = await build(t)
  const env = { REDIS_URL: redisUrl, REDIS_PREFIX: prefix }
  const s = await session(app)
  const email = s.user.email
  const second = (await app.inject({
    method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD, tokenDelivery: 'body' },
  })).json()
  const sid = (token: string) => token.split('.')[0]!
  const auditOf = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'admin_action')

  const found = await users(env, 'find', email.toUpperCase())
  t.equal(found.code, 0)
  t.match(found.stdout, new RegExp(`${email} id ${s.user.id} roles user enabled`))
  const listed = await users(env, 'sessions', email)
  t.equal(listed.code, 0)
  t.match(listed.stdout, sid(s.refreshToken))
  t.match(listed.stdout, sid(second.refreshToken))

  const one = await users(env, 'end-sessions', email, sid(s.refreshToken))
  t.equal(one.code, 0)
  t.equal((await refreshBody(app, s.refreshToken)).statusCode, 401, 'that session is ended')
  t.equal((await refreshBody(app, second.refreshToken)).statusCode, 200, 'the other one lives')
  const gone = await users(env, 'end-sessions', email, sid(s.refreshToken))
  t.equal(gone.code, 1, 'an ended session is not found')
  t.match(gone.stdout, /No such session/)

  const disabled = await run(process.execPath, ['--import', 'tsx', 'scripts/users.ts', 'disable', email], {
    cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 30_000,
  })
  t.match(disabled.stdout, /disabled .* ended 1 session/)
  t.match(auditOf(disabled.stderr), [{
    audit: true,
    action: 'user_disabled',
    targetUserId: s.user.id,
    adminId: /^cli:/
  }], 'one audit line naming the shell user')
  const refused = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().error, 'account_disabled')
  t.match((await users(env, 'find', email)).stdout, /DISABLED/)

  t.equal((await users(env, 'enable', email)).code, 0)
  const back = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })
  t.equal(back.statusCode, 200, 'enabled: login works')
  t.equal((await users(env, 'end-sessions', email)).code, 0)
  t.equal((await users(env, 'sessions', email)).stdout.trim(), '', 'no session left')
  t.equal((await users(env, 'disable', uniqueEmail('ghost'))).code, 1, 'unknown user fails')
  t.equal((await users(env, 'disable')).code, 2, 'usage error')
  t.equal((await users(env, 'sessions', email, 'extra')).code, 2, 'usage error: too many arguments')
})
