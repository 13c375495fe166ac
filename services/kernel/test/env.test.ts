/**
 * The kernel's env reader: every reader function, blank values as unset, and one ConfigError
 * listing every problem at once.
 */
import t from 'tap'
import { ConfigError, LOG_LEVELS, envReader } from '../env.js'

t.test('str: the trimmed value, else the fallback; blank counts as unset', async (t) => {
  const read = envReader({ A: '  value  ', BLANK: '   ', EMPTY: '' })
  t.equal(read.str('A', 'x'), 'value')
  t.equal(read.str('BLANK', 'x'), 'x', 'whitespace only is unset')
  t.equal(read.str('EMPTY', 'x'), 'x', 'empty is unset')
  t.equal(read.str('MISSING', 'x'), 'x')
  t.same(read.problems, [])
})

t.test('optional: undefined when unset or blank', async (t) => {
  const read = envReader({ A: ' a ', BLANK: ' \t ' })
  t.equal(read.optional('A'), 'a')
  t.equal(read.optional('BLANK'), undefined)
  t.equal(read.optional('MISSING'), undefined)
})

t.test('num: decimals, integers and ranges', async (t) => {
  const cases = [
    { d: 'a decimal is read', value: '1.5', opts: {}, want: 1.5, problem: undefined },
    { d: 'blank gives the fallback without a problem', value: ' ', opts: {}, want: 7, problem: undefined },
    { d: 'a negative number is not a number in 0..inf', value: '-1', opts: {}, want: 7, problem: /in 0\.\.inf \(got "-1"\)/ },
    { d: 'exponent notation is refused', value: '1e3', opts: {}, want: 7, problem: /must be a number/ },
    { d: 'integer: a decimal is refused', value: '1.5', opts: { integer: true }, want: 7, problem: /whole number/ },
    { d: 'below min is refused', value: '2', opts: { min: 3 }, want: 7, problem: /in 3\.\.inf/ },
    { d: 'above max is refused', value: '9', opts: { max: 8 }, want: 7, problem: /in 0\.\.8 \(got "9"\)/ },
    { d: 'the bounds are inclusive', value: '8', opts: { min: 8, max: 8 }, want: 8, problem: undefined },
    {
      d: 'integer: an unsafe integer is refused',
      value: '9007199254740993',
      opts: { integer: true },
      want: 7,
      problem: /whole number/,
    },
  ]
  for (const c of cases) {
    const read = envReader({ N: c.value })
    t.equal(read.num('N', 7, c.opts), c.want, c.d)
    if (c.problem) t.match(read.problems, [c.problem], c.d)
    else t.same(read.problems, [], c.d)
  }
})

t.test('int: whole numbers from min (default 0) to max', async (t) => {
  const read = envReader({ PORT: ' 8080 ', LOW: '0', BIG: '70000', WORD: 'abc' })
  t.equal(read.int('PORT', 1), 8080, 'trimmed')
  t.equal(read.int('LOW', 1), 0, 'min defaults to 0')
  t.equal(read.int('MISSING', 5), 5)
  t.equal(read.int('BIG', 1, 0, 65535), 1)
  t.equal(read.int('WORD', 2), 2)
  t.same(read.problems, [
    'BIG must be a whole number in 0..65535 (got "70000")',
    'WORD must be a whole number in 0..inf (got "abc")',
  ])
})

t.test('url: protocol checked, trailing slashes removed', async (t) => {
  const read = envReader({ OK: 'http://127.0.0.1:4000///', FTP: 'ftp://x', BAD: 'not a url' })
  t.equal(read.url('OK', 'http://x', ['http:', 'https:']), 'http://127.0.0.1:4000')
  t.equal(read.url('MISSING', 'https://fallback/', ['https:']), 'https://fallback')
  read.url('FTP', 'http://x', ['http:', 'https:'])
  t.equal(read.url('BAD', 'http://fallback', ['http:']), 'http://fallback', 'a non-URL gives the fallback')
  t.same(read.problems, [
    'FTP must be a http:// or https:// URL (got "ftp://x")',
    'BAD must be a URL (got "not a url")',
  ])
})

t.test('oneOf: matched without regard to case, returned as allowed', async (t) => {
  const read = envReader({ MODE: ' STRICT ', BAD: 'loose' })
  t.equal(read.oneOf('MODE', 'lax', ['strict', 'lax']), 'strict')
  t.equal(read.oneOf('MISSING', 'lax', ['strict', 'lax']), 'lax')
  t.equal(read.oneOf('BAD', 'lax', ['strict', 'lax']), 'lax')
  t.same(read.problems, ['BAD must be one of strict, lax (got "loose")'])
})

t.test('list: comma separated, trimmed, empty entries dropped', async (t) => {
  const read = envReader({ L: ' a, b ,,c , ', BLANK: '  ' })
  t.same(read.list('L', ''), ['a', 'b', 'c'])
  t.same(read.list('BLANK', 'x,y'), ['x', 'y'], 'blank gives the fallback')
  t.same(read.list('MISSING', ''), [])
})

t.test('logLevel: LOG_LEVEL, info by default', async (t) => {
  t.equal(envReader({}).logLevel(), 'info')
  t.equal(envReader({ LOG_LEVEL: 'WARN' }).logLevel(), 'warn')
  const read = envReader({ LOG_LEVEL: 'loud' })
  t.equal(read.logLevel(), 'info')
  t.same(read.problems, [`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "loud")`])
})

t.test('done: one ConfigError listing every problem at once', async (t) => {
  const read = envReader({ PORT: 'x', LOG_LEVEL: 'loud', URL: 'nope' })
  read.int('PORT', 1)
  read.logLevel()
  read.url('URL', 'http://x', ['http:'])
  const err = t.throws(() => read.done('probe')) as ConfigError
  t.ok(err instanceof ConfigError)
  t.ok(err instanceof Error)
  t.equal(err.name, 'ConfigError')
  t.equal(err.problems.length, 3)
  t.same(err.problems, read.problems)
  t.equal(err.message, [
    'Invalid probe configuration:',
    '  - PORT must be a whole number in 0..inf (got "x")',
    `  - LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "loud")`,
    '  - URL must be a URL (got "nope")',
  ].join('\n'))
})

t.test('done: nothing thrown without problems', async (t) => {
  const read = envReader({ PORT: '1' })
  read.int('PORT', 2)
  t.doesNotThrow(() => read.done('probe'))
})

t.test('ConfigError on its own: subject and problems', async (t) => {
  const err = new ConfigError('gateway', ['A is bad', 'B is bad'])
  t.equal(err.message, 'Invalid gateway configuration:\n  - A is bad\n  - B is bad')
  t.same(err.problems, ['A is bad', 'B is bad'])
})
