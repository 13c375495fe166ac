import t from 'tap'
import { pino } from 'pino'
import { loggerOptions } from '../../src/ops/logger.js'

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
