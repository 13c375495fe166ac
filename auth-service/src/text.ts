/** Text checks shared by the email and password rules. */

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** A string with a UTF-16 surrogate that is not half of a pair cannot be encoded as UTF-8. */
export function hasLoneSurrogate (text: string): boolean {
  return LONE_SURROGATE.test(text)
}
