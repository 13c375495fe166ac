import t from 'tap'
import pino from 'pino'
import { accessLineWriter } from '../../src/ops/access-line.js'

function capture (level = 'info') {
  const chunks: string[] = []
  const logger = pino({ level }, { write: (s: string) => { chunks.push(s) } })
  return { logger, chunks, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) }
}
const entry = { reqId: 'r-1', method: 'GET', url: '/api/orders?x=1', statusCode: 200, responseTime: 3 }

t.test('the template writes what pino writes for the same call', async (t) => {
  const ours = capture()
  const theirs = capture()
  accessLineWriter(ours.logger, { viaPino: false, batch: false }).write(entry)
  theirs.logger.info(entry, 'request completed')
  const [a] = ours.lines()
  const [b] = theirs.lines()
  t.same(Object.keys(a), Object.keys(b), 'same fields, same order')
  t.same({ ...a, time: 0 }, { ...b, time: 0 })
})

t.test('a url or request id with quotes, backslashes or control characters stays one valid JSON line', async (t) => {
  const c = capture()
  const url = '/a"b\\c\u0001\u2028d'
  accessLineWriter(c.logger, { viaPino: false, batch: false }).write({ ...entry, url, reqId: 'id"x' })
  t.equal(c.chunks.join('').split('\n').length, 2, 'one line')
  t.match(c.lines()[0], { url, reqId: 'id"x' })
})

t.test('batched: handed on at 8 KiB or at flush, never split; nothing below the level', async (t) => {
  const c = capture()
  const writer = accessLineWriter(c.logger, { viaPino: false, batch: true })
  writer.write(entry)
  t.equal(c.chunks.length, 0, 'held')
  for (let i = 0; i < 60; i++) writer.write({ ...entry, reqId: `r-${i}` })
  t.equal(c.chunks.length, 1, 'one write once 8 KiB are pending')
  writer.flush()
  t.equal(c.lines().length, 61, 'every line, whole')
  const quiet = capture('warn')
  accessLineWriter(quiet.logger, { viaPino: false, batch: false }).write(entry)
  t.same(quiet.chunks, [], 'level warn: no access line')
})
