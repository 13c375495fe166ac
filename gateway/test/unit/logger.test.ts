import t from 'tap'
import { pino } from 'pino'
import { lazyChildLogger, loggerOptions } from '../../src/ops/logger.js'

t.test('the gateway logger redacts tokens, cookies and passwords wherever a log call puts them', async (t) => {
  const lines: string[] = []
  const options = loggerOptions('info', { write: (line: string) => { lines.push(line) } })
  const log = pino(options, options.stream) // as Fastify does with the same options
  log.info({
    req: {
      headers: {
        authorization: 'Bearer secret-token',
        cookie: 'access_token=secret-cookie',
        'proxy-authorization': 'Basic secret-basic',
      }
    },
    res: { headers: { 'set-cookie': 'refresh_token=secret-refresh' } },
    token: 'secret-bare-token',
    refreshToken: 'secret-refresh-token',
    password: 'secret-password',
    method: 'GET',
  }, 'request')
  t.equal(lines.length, 1)
  const line = lines[0]!
  t.notMatch(line, /secret/, 'no secret value in the line')
  t.equal(line.match(/\[redacted\]/g)?.length, 7, 'each of the seven written as [redacted]')
  t.match(JSON.parse(line), { method: 'GET', msg: 'request' }, 'the rest is kept')
})

t.test('the per-request logger is made on its first line at an enabled level, with its bindings', async (t) => {
  const lines: string[] = []
  const parent = pino({ level: 'info' }, { write: (s: string) => { lines.push(s) } })
  let children = 0
  const counting = Object.assign(Object.create(parent), {
    child: (b: object, o?: object) => { children++; return parent.child(b, o) },
  })
  const log = lazyChildLogger(counting, { reqId: 'r-9' }, {})
  log.debug('below the level')
  t.equal(children, 0, 'nothing made for a request that does not log')
  t.equal(log.level, 'info')
  log.info({ reason: 'x' }, 'request denied')
  log.warn('again')
  t.equal(children, 1, 'made once')
  const expected = [{ reqId: 'r-9', reason: 'x', msg: 'request denied' }, { reqId: 'r-9', msg: 'again' }]
  t.match(lines.map((l) => JSON.parse(l)), expected)
})
