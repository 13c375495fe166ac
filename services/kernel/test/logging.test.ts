/**
 * The kernel's logger options on a real pino logger (and through Fastify): credentials are
 * redacted at the top level and one level down, wherever a log call puts them.
 */
import t from 'tap'
import Fastify from 'fastify'
import { pino } from 'pino'
import { LOG_REDACT_PATHS, loggerOptions } from '../logging.js'

const SECRET = 'S3CRET-VALUE'

/** A logger with the kernel's options writing into `lines` (one parsed object per line). */
function capture () {
  const lines: Array<Record<string, any>> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  return { lines, stream, log: pino(loggerOptions('info'), stream) }
}

t.test('credentials at the top level are redacted', async (t) => {
  const names = ['authorization', 'cookie', 'set-cookie', 'token', 'accessToken', 'refreshToken', 'password']
  for (const name of names) {
    const { lines, log } = capture()
    log.info({ [name]: SECRET, kept: 'visible' }, 'top level')
    t.equal(lines[0]?.[name], '[redacted]', name)
    t.equal(lines[0]?.kept, 'visible', `${name}: other fields stay`)
    t.notMatch(JSON.stringify(lines), SECRET, `${name}: the secret is nowhere`)
  }
})

t.test('credentials one level down are redacted', async (t) => {
  const cases = [
    { d: 'headers.authorization', obj: { headers: { authorization: `Bearer ${SECRET}` } } },
    { d: 'headers.cookie', obj: { headers: { cookie: `rt=${SECRET}` } } },
    { d: 'headers["set-cookie"]', obj: { headers: { 'set-cookie': [`rt=${SECRET}`] } } },
    { d: 'any.authorization', obj: { upstream: { authorization: SECRET } } },
    { d: 'any.cookie', obj: { upstream: { cookie: SECRET } } },
    { d: 'any["set-cookie"]', obj: { upstream: { 'set-cookie': SECRET } } },
    { d: 'any.token', obj: { body: { token: SECRET } } },
    { d: 'any.accessToken', obj: { session: { accessToken: SECRET } } },
    { d: 'any.refreshToken', obj: { session: { refreshToken: SECRET } } },
    { d: 'any.password', obj: { body: { password: SECRET, email: 'a@example.test' } } },
  ]
  for (const c of cases) {
    const { lines, log } = capture()
    log.info(c.obj, 'one level down')
    t.notMatch(JSON.stringify(lines[0]), SECRET, c.d)
    t.match(JSON.stringify(lines[0]), /\[redacted\]/, `${c.d}: censored, not dropped`)
  }
  const { lines, log } = capture()
  log.info({ body: { password: SECRET, email: 'a@example.test' } }, 'siblings')
  t.equal(lines[0]?.body.email, 'a@example.test', 'a sibling of a redacted field stays')
})

// Fastify's own req/res serializers drop headers; these are the headers a handler logs itself.
t.test('a Fastify request log redacts the credential headers', async (t) => {
  const lines: Array<Record<string, any>> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const app = Fastify({ logger: loggerOptions('info', stream) })
  app.get('/', async (request, reply) => {
    request.log.info({ headers: request.headers }, 'headers seen')
    reply.header('set-cookie', `rt=${SECRET}`)
    request.log.info({ headers: reply.getHeaders() }, 'reply headers')
    return { ok: true }
  })
  t.teardown(() => app.close())
  const res = await app.inject({
    method: 'GET',
    url: '/',
    headers: { authorization: `Bearer ${SECRET}`, cookie: `at=${SECRET}`, 'proxy-authorization': SECRET },
  })
  t.equal(res.statusCode, 200)
  const seen = lines.find((l) => l.msg === 'headers seen')
  t.equal(seen?.headers.authorization, '[redacted]')
  t.equal(seen?.headers.cookie, '[redacted]')
  t.equal(seen?.headers['proxy-authorization'], '[redacted]')
  t.equal(lines.find((l) => l.msg === 'reply headers')?.headers['set-cookie'], '[redacted]')
  t.notMatch(JSON.stringify(lines), SECRET, 'the secret is in no line')
})

t.test('loggerOptions: level, the stream only when given, a frozen list', async (t) => {
  t.equal(loggerOptions('warn').level, 'warn')
  t.notOk('stream' in loggerOptions('info'), 'no stream: stdout')
  const stream = { write: () => {} }
  t.equal(loggerOptions('info', stream).stream, stream)
  t.ok(Object.isFrozen(LOG_REDACT_PATHS))
})
