/**
 * Failed-login throttling: N failures for one account from one IP →
 * a temporary refusal (429 + Retry-After) even with the right password, which ends with the
 * window; a success before that resets the count; other IPs and other accounts are not
 * affected (an attacker cannot lock the owner out).
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { failureDelayMs } from '../../src/login-throttle.js'
import { build, PASSWORD, register, uniqueEmail } from '../helper.js'

const attempt = (app: FastifyInstance, email: string, password: string, ip = '127.0.0.1') =>
  app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, remoteAddress: ip })

t.test('POST /auth/login: refused after LOGIN_MAX_FAILURES failures, with a JSON 429 and Retry-After', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES: '3', LOGIN_FAILURE_WINDOW: '60' })
  const email = uniqueEmail('throttle')
  await register(app, email)
  for (let i = 1; i <= 3; i++) {
    const res = await attempt(app, email, 'wrong password!')
    t.equal(res.statusCode, 401, `failure ${i} is a plain 401`)
    t.equal(res.json().error, 'invalid_credentials')
  }
  for (const password of ['wrong password!', PASSWORD]) {
    const res = await attempt(app, email, password)
    t.equal(res.statusCode, 429, `then refused (${password === PASSWORD ? 'right' : 'wrong'} password)`)
    t.same(Object.keys(res.json()).sort(), ['error', 'message', 'statusCode'])
    t.equal(res.json().error, 'rate_limited')
    t.match(res.json().message, /try again in \d+ seconds/)
    const retryAfter = Number(res.headers['retry-after'])
    t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter} s, within the window`)
    t.equal(res.headers['set-cookie'], undefined, 'no session')
  }
  const otherAccount = uniqueEmail('neighbour')
  await register(app, otherAccount)
  t.equal((await attempt(app, otherAccount, PASSWORD)).statusCode, 200,
    'another account from the same IP still logs in')
  t.equal((await attempt(app, email, PASSWORD, '10.9.8.7')).statusCode, 200, 'the owner from another IP still logs in')
})

t.test('a success before the limit resets the count', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES: '3', LOGIN_FAILURE_WINDOW: '60' })
  const email = uniqueEmail('reset')
  await register(app, email)
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 2; i++) t.equal((await attempt(app, email, 'wrong password!')).statusCode, 401)
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 200, `round ${round + 1}: two failures then a success`)
  }
  t.pass('six failures in all, never three in a row: never refused')
  for (let i = 0; i < 3; i++) t.equal((await attempt(app, email, 'wrong password!')).statusCode, 401)
  t.equal((await attempt(app, email, PASSWORD)).statusCode, 429,
    'after a reset the count starts again: three failures in a row are refused')
})

t.test('the refusal is temporary: it ends with LOGIN_FAILURE_WINDOW', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES: '2', LOGIN_FAILURE_WINDOW: '1' })
  const email = uniqueEmail('window')
  await register(app, email)
  for (let i = 0; i < 2; i++) t.equal((await attempt(app, email, 'wrong password!')).statusCode, 401)
  const refused = await attempt(app, email, PASSWORD)
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['retry-after'], '1')
  await new Promise((resolve) => setTimeout(resolve, 1200))
  t.equal((await attempt(app, email, PASSWORD)).statusCode, 200, 'after the window the right password works again')
})

t.test('each failed login answers later than the one before (progressive delay before the 429)', async (t) => {
  const { app } = await build(t, { LOGIN_MAX_FAILURES: '4', LOGIN_FAILURE_WINDOW: '60' })
  const email = uniqueEmail('delay')
  await register(app, email)
  for (let failure = 1; failure <= 3; failure++) {
    const started = performance.now()
    const res = await attempt(app, email, 'wrong password!')
    const took = performance.now() - started
    t.equal(res.statusCode, 401)
    // A lower bound only: the answer is held back at least this long, however fast the machine.
    t.ok(took >= failureDelayMs(failure),
      `failure ${failure} answered after ${took.toFixed(0)} ms ≥ ${failureDelayMs(failure)} ms`)
  }
  const unknown = performance.now()
  const res = await attempt(app, uniqueEmail('nobody'), 'wrong password!')
  t.equal(res.statusCode, 401)
  t.ok(performance.now() - unknown >= failureDelayMs(1), 'an unknown email is delayed like a known one')
  t.equal((await attempt(app, email, PASSWORD)).statusCode, 200, 'below the limit the right password still works')
})
