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
