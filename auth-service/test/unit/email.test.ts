import t from 'tap'
import { EMAIL_RULE, checkEmail } from '../../src/users/email.js'

const accepted: Array<{ d: string, raw: string, email: string }> = [
  { d: 'a plain address is kept', raw: 'user@example.com', email: 'user@example.com' },
  { d: 'trimmed and lower-cased', raw: ' User@Example.COM ', email: 'user@example.com' },
  { d: 'dots and plus tags', raw: 'first.last+tag@mail.example.org', email: 'first.last+tag@mail.example.org' },
  { d: 'an internationalised domain, stored NFC', raw: 'anna@bu\u0308cher.de', email: 'anna@b\u00fccher.de' },
  { d: 'a hyphen inside a label is allowed', raw: 'x@my-host.example', email: 'x@my-host.example' },
]

const refused: Array<{ d: string, raw: string }> = [
  { d: 'a NUL inside the local part', raw: 'us\u0000er@example.com' },
  { d: 'a BEL control character', raw: 'user\u0007@example.com' },
  { d: 'a trailing NUL', raw: 'user@example.com\u0000' },
  { d: 'markup in the local part', raw: '<script>alert(1)</script>@x.com' },
  { d: 'an empty domain label', raw: 'user@example..com' },
  { d: 'a leading dot in the local part', raw: '.user@example.com' },
  { d: 'a trailing dot in the local part', raw: 'user.@example.com' },
  { d: 'two dots in a row in the local part', raw: 'us..er@example.com' },
  { d: 'a lone UTF-16 surrogate', raw: 'user\ud800@example.com' },
  { d: 'no @ at all', raw: 'user.example.com' },
  { d: 'nothing before the @', raw: '@example.com' },
  { d: 'a domain without a dot', raw: 'user@localhost' },
  { d: 'a label starting with a hyphen', raw: 'user@-bad.example' },
  { d: 'a trailing dot on the domain', raw: 'user@example.com.' },
  { d: 'a space inside', raw: 'us er@example.com' },
  { d: 'two @ signs', raw: 'a@b@example.com' },
  { d: 'a local part over 64 characters', raw: `${'a'.repeat(65)}@example.com` },
  { d: 'a label over 63 characters', raw: `user@${'a'.repeat(64)}.com` },
  { d: 'a line separator', raw: 'user\u2028@example.com' },
]

for (const c of accepted) {
  t.test(c.d, async (t) => {
    t.same(checkEmail(c.raw), { ok: true, email: c.email })
  })
}

for (const c of refused) {
  t.test(`refused: ${c.d}`, async (t) => {
    const result = checkEmail(c.raw)
    t.equal(result.ok, false)
    if (!result.ok) t.ok(result.problem.startsWith(EMAIL_RULE), 'the message states the rule')
  })
}
