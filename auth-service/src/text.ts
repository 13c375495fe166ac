/** Text checks shared by the email, name and password rules. */

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** A string with a UTF-16 surrogate that is not half of a pair cannot be encoded as UTF-8. */
export function hasLoneSurrogate (text: string): boolean {
  return LONE_SURROGATE.test(text)
}

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/ // eslint-disable-line no-control-regex

export function hasControlCharacter (text: string): boolean {
  return CONTROL.test(text)
}
