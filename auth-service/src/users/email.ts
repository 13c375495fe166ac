/**
 * The one email rule: the WHATWG `input type=email` grammar, with a dot-atom local part (no
 * leading, trailing or doubled dots) and internationalised domains checked in their
 * A-label form.
 * - Normalised once: trimmed, NFC, lower-cased (the account index is case-insensitive).
 * - Refused: control characters, lone surrogates, empty labels, labels over 63 octets, a
 *   domain without a dot, a local part over 64 or an address over 254 characters.
 * @see https://html.spec.whatwg.org/multipage/input.html#valid-e-mail-address
 */
import { domainToASCII } from 'node:url'
import { hasControlCharacter, hasLoneSurrogate } from '../text.js'

export const EMAIL_RULE = 'email must be an address like name@example.com ' +
  '(letters, digits and !#$%&\'*+/=?^_`{|}~- before the @, dots only between them; a domain of dot-separated labels)'

const LOCAL_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** Trimmed, NFC, lower case: the form accounts are stored and found by. */
export function normaliseEmail (email: string): string {
  return email.trim().normalize('NFC').toLowerCase()
}

export type EmailCheck = { ok: true, email: string } | { ok: false, problem: string }

export function checkEmail (raw: string): EmailCheck {
  if (hasLoneSurrogate(raw)) return { ok: false, problem: `${EMAIL_RULE}; got text with a lone surrogate` }
  if (hasControlCharacter(raw)) return { ok: false, problem: `${EMAIL_RULE}; got a control character` }
  const email = normaliseEmail(raw)
  const at = email.lastIndexOf('@')
  const local = email.slice(0, at)
  const domain = email.slice(at + 1)
  if (at < 1 || email.length > 254 || local.length > 64 || !local.split('.').every((a) => LOCAL_ATOM.test(a))) {
    return { ok: false, problem: EMAIL_RULE }
  }
  const ascii = domainToASCII(domain)
  const labels = ascii.split('.')
  if (ascii === '' || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    return { ok: false, problem: EMAIL_RULE }
  }
  return { ok: true, email }
}
