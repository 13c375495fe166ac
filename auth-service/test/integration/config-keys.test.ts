import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.js'
import { initKeyring, loadKeyring } from '../../src/keys/keyring.js'
import { pruneKeys, rotateKeys } from '../../src/keys/rotation.js'
import { buildAuthService } from '../../src/app.js'
import { decodeProtectedHeader } from 'jose'
import type { FastifyInstance } from 'fastify'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { PASSWORD, uniqueEmail } from '../helper.js'
import { waitFor } from '../../../scripts/testing/wait.js'

t.test('initKeyring: active + next + secrets, private files 0600, idempotent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-keys-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const [m1] = await Promise.all([initKeyring(dir), initKeyring(dir)])
  t.same(m1.keys.map((k) => k.state).sort(), ['active', 'next'])
  const m2 = await initKeyring(dir)
  t.same(m2.keys.map((k) => k.kid), m1.keys.map((k) => k.kid), 'second init keeps the keys')
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))
  t.equal(manifest.version, 1)
  t.equal(manifest.keys.length, 2, 'concurrent inits did not create extra keys')
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.private.pem') || f === 'secrets.json' || f === 'manifest.json') {
      t.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`)
    }
  }
  const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'))
  t.equal(Buffer.from(secrets.refreshTokenSecret, 'base64url').length, 32)
  t.equal(Buffer.from(secrets.csrfSecret, 'base64url').length, 32)
  const ring = await loadKeyring(dir)
  t.equal(ring.active.kid, m1.keys.find((k) => k.state === 'active')!.kid)
  t.equal(ring.jwks.keys.length, 2)
  t.notOk(readdirSync(dir).some((f) => f.endsWith('.tmp') || f === '.lock'), 'no temp or lock files left')
})

t.test('rotate and prune: the running service picks up a rotation without a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-keys-rotate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const redis = await useTestRedis(t)
  const config = loadConfig({
    KEYS_DIR: dir,
    KEYS_RELOAD_INTERVAL: '1',
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
  })
  const app = await buildAuthService(config, { logger: false })
  t.teardown(() => app.close())
  await app.ready()
  const before = await initKeyring(dir)
  const [active, next] = ['active', 'next'].map((s) => before.keys.find((k) => k.state === s)!.kid)
  const kids = async () =>
    (await app.inject('/.well-known/jwks.json')).json().keys.map((k: { kid: string }) => k.kid).sort()
  t.same(await kids(), [active, next].sort())
  const signedBefore = await waitForToken(app)
  t.equal(decodeProtectedHeader(signedBefore).kid, active)

  const after = await rotateKeys(dir)
  const newNext = after.keys.find((k) => k.state === 'next')!.kid
  t.equal(after.keys.find((k) => k.state === 'active')!.kid, next, 'the pre-published next key became active')
  t.equal(after.keys.find((k) => k.state === 'retiring')!.kid, active)
  await waitFor(async () => (await kids()).length === 3, 5000)
  t.same(await kids(), [active, next, newNext].sort(), 'JWKS publishes retiring, active and the new next key')
  t.equal(decodeProtectedHeader(await waitForToken(app)).kid, next, 'new tokens are signed with the new active key')
  const list = await app.inject({
    method: 'GET',
    url: '/auth/sessions',
    headers: { authorization: `Bearer ${signedBefore}` },
  })
  t.equal(list.statusCode, 200, 'a token signed before the rotation still verifies')

  await t.rejects(pruneKeys(dir, 3600), /refusing to prune/, 'refuses to prune a recently retired key')
  const { removed } = await pruneKeys(dir, 0)
  t.same(removed.map((k) => k.kid), [active])
  t.notOk(readdirSync(dir).some((f) => f.startsWith(active!)), 'its PEM files are gone')
})

async function waitForToken (app: FastifyInstance): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: uniqueEmail(), password: PASSWORD, tokenDelivery: 'body' },
  })
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json().accessToken
}
