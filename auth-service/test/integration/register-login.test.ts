import t from 'tap'
import { parseOptions } from '@node-rs/argon2'
import { build, PASSWORD, register, uniqueEmail } from '../helper.js'

t.test('POST /auth/register: 20 simultaneous sign-ups of one email give one 201', async (t) => {
  const { app } = await build(t)
  const email = uniqueEmail('race')
  const variants = (i: number) => i % 2 === 0 ? email : ` ${email.toUpperCase()}`
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => register(app, variants(i))))
  const codes = results.map((r) => r.statusCode).sort()
  t.same(codes, [201, ...Array(19).fill(409)], 'one 201, nineteen 409')
  for (const r of results.filter((r) => r.statusCode === 409)) {
    t.same(r.json(), { error: 'email_taken', message: 'An account with this email already exists', statusCode: 409 })
  }
})

t.test('passwords are stored as argon2id with OWASP parameters, never in clear', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const res = await register(app)
  const stored = await inspect.hgetall(`${prefix}user:{${res.json().user.id}}`)
  t.notOk(Object.values(stored).includes(PASSWORD))
  t.match(stored.passwordHash, /^\$argon2id\$/)
  t.match(parseOptions(stored.passwordHash!), { memoryCost: 19456, timeCost: 2, parallelism: 1 })
})

t.test('POST /auth/login: wrong password and unknown email give identical answers', async (t) => {
  const { app } = await build(t)
  const email = uniqueEmail()
  await register(app, email)
  const wrong = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: 'wrong password!' },
  })
  const unknown = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: uniqueEmail('ghost'), password: 'wrong password!' },
  })
  t.equal(wrong.statusCode, 401)
  t.equal(unknown.statusCode, 401)
  t.equal(wrong.body, unknown.body, 'byte-identical bodies')
  t.same(wrong.json(), { error: 'invalid_credentials', message: 'Invalid email or password', statusCode: 401 })
  t.equal(wrong.headers['set-cookie'], undefined)
  const right = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: email.toUpperCase(), password: PASSWORD },
  })
  t.equal(right.statusCode, 200, 'login with a differently-cased email works')
})

t.test('bad input gives clear 4xx JSON errors and stores nothing', async (t) => {
  const { app, inspect, prefix } = await build(t)
  const cases: {
    d: string,
    payload: unknown,
    status: number,
    error: string,
    message?: RegExp,
    headers?: Record<string,
    string>,
  }[] = [
    {
      d: 'a password shorter than the rule says',
      payload: { email: uniqueEmail(), password: 'short' },
      status: 400,
      error: 'weak_password',
      message: /10 to 128 characters/,
    },
    {
      d: 'a password longer than 128 characters',
      payload: { email: uniqueEmail(), password: 'x'.repeat(129) },
      status: 400,
      error: 'weak_password',
      message: /10 to 128/,
    },
    {
      d: 'an email without @',
      payload: { email: 'not-an-email', password: PASSWORD },
      status: 400,
      error: 'invalid_request',
      message: /email/,
    },
    {
      d: 'an email longer than 254',
      payload: { email: `${'a'.repeat(250)}@example.test`, password: PASSWORD },
      status: 400,
      error: 'invalid_request',
      message: /email/,
    },
    {
      d: 'a name longer than 100',
      payload: { email: uniqueEmail(), password: PASSWORD, name: 'n'.repeat(101) },
      status: 400,
      error: 'invalid_request',
      message: /name/,
    },
    {
      d: 'an unknown field',
      payload: { email: uniqueEmail(), password: PASSWORD, admin: true },
      status: 400,
      error: 'invalid_request',
      message: /additional/,
    },
    {
      d: 'a missing password',
      payload: { email: uniqueEmail() },
      status: 400,
      error: 'invalid_request',
      message: /password/,
    },
    { d: 'a number for the email', payload: { email: 42, password: PASSWORD }, status: 400, error: 'invalid_request' },
    {
      d: 'an unknown tokenDelivery',
      payload: { email: uniqueEmail(), password: PASSWORD, tokenDelivery: 'carrier-pigeon' },
      status: 400,
      error: 'invalid_request',
    },
    {
      d: 'malformed JSON',
      payload: '{"email":',
      status: 400,
      error: 'invalid_request',
      headers: { 'content-type': 'application/json' },
    },
    {
      d: 'a body over 16 KiB',
      payload: { email: uniqueEmail(), password: PASSWORD, name: 'x'.repeat(20_000) },
      status: 413,
      error: 'payload_too_large',
    },
    {
      d: 'a non-JSON content type',
      payload: 'email=a',
      status: 415,
      error: 'unsupported_media_type',
      headers: { 'content-type': 'text/plain' },
    },
  ]
  for (const c of cases) {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: c.payload as string,
      headers: c.headers,
    })
    t.equal(res.statusCode, c.status, `${c.d}: status`)
    const body = res.json()
    t.equal(body.error, c.error, `${c.d}: error code`)
    t.type(body.message, 'string', `${c.d}: message`)
    if (c.message) t.match(body.message, c.message, `${c.d}: message says what is wrong`)
    t.notMatch(res.body, /at .*\.ts:\d+/, `${c.d}: no stack trace`)
  }
  const [, keys] = await inspect.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1000)
  t.same(keys, [], 'nothing stored')
})
