import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import type { FastifyInstance } from 'fastify'
import { buildAuthService } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { runKeysCli } from '../../src/cli/keys/index.js'
import { initKeyring } from '../../src/keys/keyring.js'
import { readManifest, writeManifest } from '../../src/keys/manifest.js'
import { rotateKeys } from '../../src/keys/rotation.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { PASSWORD, uniqueEmail } from '../helper.js'
import { waitFor, type Teardown } from '../../../scripts/testing/wait.js'
import { REPO_ROOT } from '../../../scripts/testing/node-process.js'

interface Instance { app: FastifyInstance, logs: string[] }

async function start (t: Teardown, env: Record<string, string>): Promise<Instance> {
  const logs: string[] = []
  const app = await buildAuthService(loadConfig({ ...env, LOG_LEVEL: 'info' }), {
    logger: { level: 'info', stream: { write: (line: string) => { logs.push(line) } } },
  })
  t.teardown(() => app.close())
  await app.ready()
  await waitFor(async () => (await app.inject('/readyz')).statusCode === 200)
  return { app, logs }
}

async function accessToken (app: FastifyInstance): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: uniqueEmail('keys'), password: PASSWORD, tokenDelivery: 'body' },
  })
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`)
  return res.json().accessToken
}

async function signingKid (app: FastifyInstance): Promise<string> {
  return decodeProtectedHeader(await accessToken(app)).kid!
}

/** The service's own verifier at work: a protected route answers 200 only to a token it verifies. */
const accepts = async (app: FastifyInstance, token: string) =>
  (await app.inject({
    method: 'GET',
    url: '/auth/sessions',
    headers: { authorization: `Bearer ${token}` },
  })).statusCode === 200

const published = async (app: FastifyInstance) =>
  (await app.inject('/.well-known/jwks.json')).json().keys.map((k: { kid: string }) => k.kid).sort()
const reloads = (i: Instance, reason: string) =>
  i.logs.filter((l) => l.includes('signing keys reloaded') && l.includes(`"reason":"${reason}"`)).length

function tempKeys (t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'auth-keys-reload-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('two auth-service instances on one keys/ sign with the same active key after each rotation ' +
  '(no poll: watch + keys channel)', async (t) => {
  const dir = tempKeys(t)
  await initKeyring(dir)
  const redis = await useTestRedis(t)
  const env = { KEYS_DIR: dir, KEYS_RELOAD_INTERVAL: '0', REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix }
  const one = await start(t, env)
  const two = await start(t, env)
  const first = (await readManifest(dir))!.keys.find((k) => k.state === 'active')!.kid
  t.equal(await signingKid(one.app), first)
  t.equal(await signingKid(two.app), first)

  for (let round = 1; round <= 2; round++) {
    const cli = await runKeysCli(['rotate'],
      { env: { ...env, GATEWAY_URLS: '' }, out: () => {}, err: (l) => t.comment(l) })
    t.equal(cli, 0, `rotation ${round} done by the keys CLI`)
    const manifest = (await readManifest(dir))!
    const active = manifest.keys.find((k) => k.state === 'active')!.kid
    const kids = manifest.keys.map((k) => k.kid).sort()
    for (const [name, i] of [['one', one], ['two', two]] as const) {
      await waitFor(async () => (await signingKid(i.app)) === active, 5000)
      t.pass(`instance ${name} signs with ${active} after rotation ${round}`)
      t.same(await published(i.app), kids, `instance ${name} publishes next, active and retiring keys`)
    }
  }
  await waitFor(async () => reloads(one, 'keys channel') > 0 && reloads(two, 'keys channel') > 0, 3000)
  t.pass('both reloaded on the keys channel message')
})

t.test('a rotation written to keys/ without a message is picked up by the file watch alone', async (t) => {
  const dir = tempKeys(t)
  await initKeyring(dir)
  const redis = await useTestRedis(t)
  const one = await start(t,
    { KEYS_DIR: dir, KEYS_RELOAD_INTERVAL: '0', REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix })
  const after = await rotateKeys(dir)
  const active = after.keys.find((k) => k.state === 'active')!.kid
  await waitFor(async () => (await signingKid(one.app)) === active, 5000)
  t.pass('signs with the promoted key')
  t.ok(reloads(one, 'file') >= 1, 'reloaded by the file watch')
  t.equal(reloads(one, 'keys channel'), 0, 'no message was sent')
})

t.test('a failed reload (the manifest names a missing PEM) keeps the current keys; ' +
  'the next good one is taken', async (t) => {
  const dir = tempKeys(t)
  const good = await initKeyring(dir)
  const redis = await useTestRedis(t)
  const one = await start(t,
    { KEYS_DIR: dir, KEYS_RELOAD_INTERVAL: '0', REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix })
  const active = good.keys.find((k) => k.state === 'active')!.kid
  const before = await published(one.app)
  const oldToken = await accessToken(one.app)

  const now = new Date().toISOString()
  await writeManifest(dir, {
    version: 1,
    keys: [...good.keys.map((k) => k.state === 'active' ? { ...k, state: 'retiring' as const, retiredAt: now } : k),
      { kid: 'no-such-kid', state: 'active', createdAt: now, activatedAt: now }],
  })
  t.equal(await one.app.reloadKeys!('test'), false, 'the reload fails')
  t.ok(one.logs.some((l) => l.includes('signing keys reload failed; keeping the current keys')), 'and says so')
  t.equal(await signingKid(one.app), active, 'still signs with the old kid')
  t.same(await published(one.app), before, 'still publishes the old keys')
  t.ok(await accepts(one.app, oldToken), 'still verifies a token from before')
  t.ok(await accepts(one.app, await accessToken(one.app)), 'and a token from after')

  await writeManifest(dir, good)
  await rotateKeys(dir)
  // Twice: the second active key did not exist when the service started (not even as next).
  const rotated = (await rotateKeys(dir)).keys.find((k) => k.state === 'active')!.kid
  await waitFor(async () => (await signingKid(one.app)) === rotated, 5000)
  t.pass('a later good reload is taken')
  t.ok(await accepts(one.app, await accessToken(one.app)),
    'the verifier follows the reload: a token of a key made after start verifies')
  t.ok(await accepts(one.app, oldToken), 'a token of the now retiring key still verifies')
})

t.test('SIGHUP reloads the keys of a running auth service and does not stop it', async (t) => {
  const dir = tempKeys(t)
  await initKeyring(dir)
  const redis = await useTestRedis(t)
  const child = spawn(process.execPath, ['--import', 'tsx', 'auth-service/src/server.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      KEYS_DIR: dir,
      KEYS_RELOAD_INTERVAL: '0',
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      AUTH_PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  let exited = false
  child.on('exit', () => { exited = true })
  t.teardown(() => { if (!exited) child.kill('SIGKILL') })
  await waitFor(async () => /auth service ready at (http:\/\/\S+?)"/.test(out), 20_000)
  const url = /auth service ready at (http:\/\/\S+?)"/.exec(out)![1]!
  child.kill('SIGHUP')
  await waitFor(async () => out.includes('"reason":"SIGHUP"') && out.includes('signing keys reloaded'), 5000)
  t.pass('logged a reload with reason SIGHUP')
  const res = await fetch(`${url}/healthz`)
  t.equal(res.status, 200, 'still serving after SIGHUP')
  t.notOk(exited, 'still running')
  child.kill('SIGTERM')
  await waitFor(async () => exited, 10_000)
  t.pass('SIGTERM still closes it')
})
