/**
 * GET /metrics and the audit log of the auth service: real app on real Redis, the key series
 * scraped before and after a scripted session, and one audit line per security event.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildAuthService } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { rotateKeys } from '../../src/keys/rotation.js'
import { REVOCATION, parseRevocationMessage } from '../../src/contract.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { PASSWORD, testKeyring, uniqueEmail } from '../helper.js'
import { waitFor } from '../../../scripts/testing/wait.js'

/** The value of one sample in Prometheus text (0 when absent). */
function sample (text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)]
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) return Number(value)
  }
  return 0
}

function captureLogs () {
  const lines: Array<Record<string, unknown>> = []
  const raw: string[] = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) { raw.push(line); lines.push(JSON.parse(line)) }
      cb()
    },
  })
  return { lines, raw, stream, audits: (event: string) => lines.filter((l) => l.audit === true && l.event === event) }
}

async function start (t: Test, env: Record<string, string> = {}, opts: { ownKeys?: boolean } = {}) {
  const r = await useTestRedis(t)
  const logs = captureLogs()
  let keysDir: string
  let deps = {}
  if (opts.ownKeys) {
    keysDir = mkdtempSync(join(tmpdir(), 'auth-metrics-keys-'))
    t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  } else {
    const { dir, keyring } = await testKeyring()
    keysDir = dir
    deps = { keyring }
  }
  const config = loadConfig({ REDIS_URL: r.url, REDIS_PREFIX: r.prefix, KEYS_DIR: keysDir, LOG_LEVEL: 'info', ...env })
  const app = await buildAuthService(config, { ...deps, logger: { level: 'info', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.ready()
  await waitFor(async () => (await app.inject('/readyz')).statusCode === 200)
  return { app, logs, keysDir, redis: r }
}

async function scrape (app: FastifyInstance): Promise<string> {
  const res = await app.inject('/metrics')
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`)
  return res.body
}

t.test('GET /metrics: logins, refreshes, reuse, revocations and requests move; ' +
  'audit lines say what happened', async (t) => {
  const { app, logs } = await start(t)
  const before = await scrape(app)
  const res0 = await app.inject('/metrics')
  t.match(res0.headers['content-type'], /text\/plain/)
  t.ok(sample(before, 'auth_published_keys') >= 2, 'published keys gauge (next + active)')

  const email = uniqueEmail('metrics')
  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password: PASSWORD, tokenDelivery: 'body' },
  })
  t.equal(reg.statusCode, 201)
  const bad = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: 'wrong password here' },
  })
  t.equal(bad.statusCode, 401)
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: PASSWORD, tokenDelivery: 'body' },
    headers: { 'user-agent': 'metrics-test/1' },
  })
  t.equal(login.statusCode, 200)
  const { refreshToken, accessToken } = login.json()
  const rotated = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })
  t.equal(rotated.statusCode, 200)
  const invalid = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: 'nope' } })
  t.equal(invalid.statusCode, 401)
  t.equal(invalid.json().error, 'invalid_refresh_token')
  // Reuse outside the grace window: REFRESH_REUSE_GRACE defaults to 10 s, so use the grace-free path below.
  const app2 = await start(t, { REFRESH_REUSE_GRACE: '0' })
  const s2 = await app2.app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: uniqueEmail('reuse'), password: PASSWORD, tokenDelivery: 'body' },
  })
  const first = s2.json().refreshToken as string
  t.equal((await app2.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    payload: { refreshToken: first },
  })).statusCode, 200)
  const reused = await app2.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    payload: { refreshToken: first },
    headers: { 'user-agent': 'attacker/1' },
  })
  t.equal(reused.statusCode, 401)
  t.equal(reused.json().error, 'refresh_token_reused')

  const logoutAll = await app.inject({
    method: 'POST',
    url: '/auth/logout-all',
    headers: { authorization: `Bearer ${accessToken}` },
  })
  t.equal(logoutAll.statusCode, 204)

  const after = await scrape(app)
  t.equal(sample(after, 'auth_logins_total', { result: 'success' }) - sample(before, 'auth_logins_total',
    { result: 'success' }), 1, 'one successful login')
  t.equal(sample(after, 'auth_logins_total', { result: 'failure' }) - sample(before, 'auth_logins_total',
    { result: 'failure' }), 1, 'one failed login')
  t.equal(sample(after, 'auth_refreshes_total', { result: 'rotated' }), 1, 'one rotation')
  t.equal(sample(after, 'auth_refreshes_total', { result: 'invalid' }), 1, 'one invalid refresh token')
  t.equal(sample(after, 'auth_revocations_total', { kind: 'user' }), 1, 'logout-all wrote a user revocation')
  t.ok(sample(after, 'auth_revocations_total', { kind: 'session' }) >= 2,
    'logout-all revoked the sessions (register + login)')
  t.equal(sample(after, 'auth_requests_total', { route: '/auth/login', method: 'POST', status: '401' }), 1,
    'requests by route and status')
  t.equal(sample(after, 'auth_requests_total', { route: '/auth/login', method: 'POST', status: '200' }), 1)
  t.ok(sample(after, 'auth_request_duration_seconds_count', { route: '/auth/refresh' }) >= 2,
    'latency histogram observed')

  const other = await scrape(app2.app)
  t.equal(sample(other, 'auth_refresh_reuse_detected_total'), 1, 'reuse detected once')
  t.equal(sample(other, 'auth_refreshes_total', { result: 'reused' }), 1)
  t.equal(sample(other, 'auth_revocations_total', { kind: 'session' }), 1, 'reuse revoked the family')
  t.equal(sample(after, 'auth_refresh_reuse_detected_total'), 0, 'registries are per app instance')

  const ok = logs.audits('login_succeeded')
  t.equal(ok.length, 1)
  t.match(ok[0],
    {
      level: 30,
      email,
      userId: reg.json().user.id,
      userAgent: 'metrics-test/1',
      ip: '127.0.0.1',
      msg: 'audit: login_succeeded',
    })
  t.type(ok[0]!.sid, 'string')
  t.type(ok[0]!.reqId, 'string', 'audit lines carry the request id')
  t.match(logs.audits('login_failed'), [{ email, reason: 'invalid_credentials' }])
  t.match(logs.audits('logout_all'), [{ userId: reg.json().user.id, sessions: 2 }])
  const reuse = app2.logs.audits('refresh_reuse_detected')
  t.equal(reuse.length, 1)
  t.match(reuse[0], { level: 40, userAgent: 'attacker/1', ip: '127.0.0.1' })
  t.equal(reuse[0]!.sid, first.split('.')[0], 'names the family')
  const all = [...logs.raw, ...app2.logs.raw].join('\n')
  t.notOk(all.includes(PASSWORD) || all.includes('wrong password here'), 'no password in any log line')
  t.notOk(all.includes(refreshToken) || all.includes(first) || all.includes(accessToken), 'no token in any log line')
})

t.test('logout and DELETE /auth/sessions/:id write session_ended', async (t) => {
  const { app, logs } = await start(t)
  const email = uniqueEmail('ended')
  const a = (await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password: PASSWORD, tokenDelivery: 'body' },
  })).json()
  const b = (await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: PASSWORD, tokenDelivery: 'body' },
  })).json()
  const del = await app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${b.refreshToken.split('.')[0]}`,
    headers: { authorization: `Bearer ${a.accessToken}` },
  })
  t.equal(del.statusCode, 204)
  const out = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refreshToken: a.refreshToken } })
  t.equal(out.statusCode, 204)
  t.match(logs.audits('session_ended'), [
    { by: 'session_delete', sid: b.refreshToken.split('.')[0], userId: a.user.id },
    { by: 'logout', sid: a.refreshToken.split('.')[0], userId: a.user.id },
  ])
  t.equal(sample(await scrape(app), 'auth_revocations_total', { kind: 'session' }), 2)
})

t.test('a keyring reload that changes the active kid counts as a rotation and is audited', async (t) => {
  const { app, logs, keysDir } = await start(t, { KEYS_RELOAD_INTERVAL: '1' }, { ownKeys: true })
  const before = await scrape(app)
  const oldKid = /auth_active_key_info\{kid="([^"]+)"\} 1/.exec(before)?.[1]
  t.type(oldKid, 'string', 'the active kid is exposed')
  t.equal(sample(before, 'auth_key_rotations_total'), 0)
  // mtime granularity: make sure the rotation lands after the watcher's first look.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const manifest = await rotateKeys(keysDir)
  const newKid = manifest.keys.find((k) => k.state === 'active')!.kid
  await waitFor(async () => sample(await scrape(app), 'auth_key_rotations_total') === 1, 8000)
  const after = await scrape(app)
  t.equal(sample(after, 'auth_active_key_info', { kid: newKid }), 1, 'the new active kid')
  t.equal(sample(after, 'auth_published_keys'), 3, 'next, active and retiring are published')
  t.match(logs.audits('key_rotated'), [{ from: oldKid, to: newKid }])
})

t.test('revocation messages carry `at` (ms epoch of the revocation); messages without it still parse', async (t) => {
  const { app, redis } = await start(t)
  const sub = redis.client.duplicate()
  t.teardown(() => sub.disconnect())
  const messages: string[] = []
  sub.on('message', (_channel: string, raw: string) => { messages.push(raw) })
  await sub.subscribe(REVOCATION.channel(redis.prefix))
  const s = (await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: uniqueEmail('at'), password: PASSWORD, tokenDelivery: 'body' },
  })).json()
  const before = Date.now()
  t.equal((await app.inject({
    method: 'POST',
    url: '/auth/logout',
    payload: { refreshToken: s.refreshToken },
  })).statusCode, 204)
  const after = Date.now()
  await waitFor(async () => messages.length === 1, 5000)
  const m = parseRevocationMessage(messages[0]!)
  t.match(m, { type: 'session', sid: s.refreshToken.split('.')[0] })
  t.ok(m?.at !== undefined && m.at >= before && m.at <= after, 'at = when the session was revoked')

  t.same(parseRevocationMessage('{"type":"session","sid":"s1","until":5}'), { type: 'session', sid: 's1', until: 5 })
  t.same(parseRevocationMessage('{"type":"session","sid":"s1","until":5,"at":3}'),
    { type: 'session', sid: 's1', until: 5, at: 3 })
  t.same(parseRevocationMessage('{"type":"user","sub":"u","notBefore":1,"until":5,"at":2}'),
    { type: 'user', sub: 'u', notBefore: 1, until: 5, at: 2 })
  t.same(parseRevocationMessage('{"type":"session","sid":"s1","until":5,"at":"soon"}'),
    { type: 'session', sid: 's1', until: 5 }, 'a non-numeric at is ignored')
})
