import t from 'tap'
import { parseOptions } from '@node-rs/argon2'
import {
  PASSWORD_MAX, PASSWORD_MIN, createDummyHash, hashPassword, passwordProblem, verifyPassword,
} from '../../src/passwords.js'

t.test('the password rule counts characters (code points), 10 to 128', async (t) => {
  const rows: Array<{ d: string, password: string, ok: boolean }> = [
    { d: 'one short of the minimum', password: 'x'.repeat(PASSWORD_MIN - 1), ok: false },
    { d: 'the minimum', password: 'x'.repeat(PASSWORD_MIN), ok: true },
    { d: 'the maximum', password: 'x'.repeat(PASSWORD_MAX), ok: true },
    { d: 'one over the maximum', password: 'x'.repeat(PASSWORD_MAX + 1), ok: false },
    { d: 'ten emoji are ten characters (twenty UTF-16 units)', password: '🔑'.repeat(10), ok: true },
  ]
  for (const row of rows) {
    const problem = passwordProblem(row.password)
    if (row.ok) t.equal(problem, null, row.d)
    else t.match(problem, { message: /10 to 128 characters long \(got \d+\)/, weak: true }, row.d)
  }
})

t.test('passwords are NFKC-normalised; a lone surrogate is not a password', async (t) => {
  const composed = 'caf\u00e9-password'
  const decomposed = 'cafe\u0301-password'
  const hash = await hashPassword(composed)
  t.ok(await verifyPassword(hash, decomposed), 'the same password typed as e + combining accent matches')
  const fullWidth = await hashPassword('\uff21\uff22\uff23-password')
  t.ok(await verifyPassword(fullWidth, 'ABC-password'), 'full-width letters fold')
  t.equal(passwordProblem('x'.repeat(9) + '\u0301'), null, 'counted after normalisation (10 code points stay 10)')
  const notText = { message: 'password must be Unicode text (no lone surrogates)', weak: false }
  t.same(passwordProblem(`${'x'.repeat(12)}\ud800`), notText)
  t.same(passwordProblem(`${'x'.repeat(12)}\udc00`), notText)
  t.equal(passwordProblem('\u{1F511}'.repeat(10)), null, 'a surrogate pair is fine')
})

t.test('hashes are argon2id with the OWASP parameters and verify only the right password', async (t) => {
  const hash = await hashPassword('correct horse battery')
  t.match(hash, /^\$argon2id\$/)
  t.match(parseOptions(hash), { memoryCost: 19456, timeCost: 2, parallelism: 1 })
  t.ok(await verifyPassword(hash, 'correct horse battery'))
  t.notOk(await verifyPassword(hash, 'correct horse batterY'))
  t.notOk(await verifyPassword('not a hash', 'correct horse battery'), 'a broken hash is a failed check, not a throw')
  t.not(await hashPassword('correct horse battery'), hash, 'salted')
})

t.test('the dummy hash is a real argon2id hash nobody knows the password of', async (t) => {
  const dummy = await createDummyHash()
  t.match(dummy, /^\$argon2id\$/)
  t.notOk(await verifyPassword(dummy, ''))
  t.not(await createDummyHash(), dummy)
})
