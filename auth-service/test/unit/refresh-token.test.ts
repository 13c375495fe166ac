import t from 'tap'
import {
  hashRefreshToken, newFamilyId, newRefreshToken, parseRefreshToken, successorOf,
} from '../../src/refresh/refresh-token.js'

const SECRET = 's'.repeat(43)

t.test('a new refresh token is <128-bit family id>.<256-bit secret>, base64url', async (t) => {
  const familyId = newFamilyId()
  t.match(familyId, /^[A-Za-z0-9_-]{22}$/)
  const token = newRefreshToken(familyId)
  t.match(token, new RegExp(`^${familyId}\\.[A-Za-z0-9_-]{43}$`))
  t.not(newRefreshToken(familyId), token, 'random secrets')
  t.same(parseRefreshToken(token), { familyId, token })
})

t.test('parseRefreshToken refuses anything else', async (t) => {
  const rows: Array<{ d: string, value: unknown }> = [
    { d: 'not a string', value: 42 },
    { d: 'empty', value: '' },
    { d: 'no dot', value: 'A'.repeat(66) },
    { d: 'family id too short', value: `${'A'.repeat(21)}.${'B'.repeat(43)}` },
    { d: 'secret too long', value: `${'A'.repeat(22)}.${'B'.repeat(44)}` },
    { d: 'a character outside base64url', value: `${'A'.repeat(21)}+.${'B'.repeat(43)}` },
    { d: 'surrounding space', value: ` ${newRefreshToken(newFamilyId())}` },
  ]
  for (const row of rows) t.equal(parseRefreshToken(row.value), null, row.d)
})

t.test('the successor is deterministic, stays in the family, and depends on the secret', async (t) => {
  const token = newRefreshToken(newFamilyId())
  const next = successorOf(token, SECRET)
  t.equal(successorOf(token, SECRET), next, 'a retried refresh gets the same successor')
  t.ok(parseRefreshToken(next), 'a well-formed token')
  t.equal(parseRefreshToken(next)!.familyId, parseRefreshToken(token)!.familyId, 'same family')
  t.not(next, token)
  t.not(successorOf(token, 't'.repeat(43)), next, 'another server secret, another successor')
  t.not(successorOf(next, SECRET), next, 'the successor has its own successor')
})

t.test('only the SHA-256 of a token is stored', async (t) => {
  const token = newRefreshToken(newFamilyId())
  const hash = hashRefreshToken(token)
  t.match(hash, /^[A-Za-z0-9_-]{43}$/)
  t.equal(hashRefreshToken(token), hash)
  t.notOk(hash.includes(token.split('.')[1]!))
})
