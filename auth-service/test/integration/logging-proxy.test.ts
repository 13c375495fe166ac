import t from 'tap'
import { Writable } from 'node:stream'
import { buildAuthService } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { build, PASSWORD, testKeyring, uniqueEmail } from '../helper.js'
import { waitFor } from '../../../scripts/testing/wait.js'

t.test('logs never contain passwords, tokens or cookies; request ids are kept', async (t) => {
  const redis = await useTestRedis(t)
  const { dir, keyring } = await testKeyring()
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const config = loadConfig({
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    KEYS_DIR: dir,
    REFRESH_REUSE_GRACE: '0',
    LOG_LEVEL: 'trace',
  })
  const app = await buildAuthService(config, { keyring, logStream: stream })
  t.teardown(() => app.close())
  await waitFor(async () => (await app.inject('/readyz')).statusCode === 200)

  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    headers: { 'x-request-id': 'trace-me-123' },
    payload: { email: uniqueEmail(), password: PASSWORD, tokenDelivery: 'body' },
  })
  const { accessToken, refreshToken } = reg.json()
  const r1 = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })
  await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    payload: { refreshToken },
  }) // reuse: logged as an audit warning
  await app.inject({
    method: 'GET',
    url: '/auth/sessions',
    headers: { authorization: `Bearer ${accessToken}`, cookie: `refresh_token=${r1.json().refreshToken}` },
  })
  const log = lines.join('')
  t.match(log, /"reqId":"trace-me-123"/, 'the x-request-id from the gateway is the log request id')
  t.match(log, /refresh_reuse_detected/, 'reuse is logged')
  for (const secret of [PASSWORD, accessToken, refreshToken, r1.json().refreshToken, refreshToken.split('.')[1]]) {
    t.notOk(log.includes(secret), 'no secret in the logs')
  }

  lines.length = 0
  app.log.info({
    req: { headers: { authorization: 'Bearer secret-bearer', cookie: 'refresh_token=secret-cookie' } },
    body: { password: 'secret-password', refreshToken: 'secret-refresh', accessToken: 'secret-access' },
    password: 'secret-top-password',
    token: 'secret-top-token',
  }, 'credentials passed to a log call')
  const line = lines.join('')
  t.match(line, /credentials passed to a log call/)
  t.match(line, /\[redacted\]/, 'the app\'s own logger redacts')
  t.notMatch(line, /secret-/, 'headers, passwords and tokens never reach the log')
})

t.test('X-Forwarded-For is trusted only from TRUST_PROXY', async (t) => {
  const { app } = await build(t)
  const login = async (remoteAddress: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      remoteAddress,
      headers: { 'x-forwarded-for': '203.0.113.7' },
      payload: { email: uniqueEmail(), password: PASSWORD, tokenDelivery: 'body' },
    })
    const list = await app.inject({
      method: 'GET',
      url: '/auth/sessions',
      headers: { authorization: `Bearer ${res.json().accessToken}` },
    })
    return list.json().sessions[0].ip
  }
  t.equal(await login('127.0.0.1'), '203.0.113.7', 'from the local gateway: the client IP it saw')
  t.equal(await login('198.51.100.1'), '198.51.100.1', 'from anyone else: ignored')
})
