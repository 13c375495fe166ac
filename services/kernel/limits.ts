/** Request limits every process of the stack shares. */

/** Small JSON bodies only: a bigger one is 413 `payload_too_large`. */
export const BODY_LIMIT = 16 * 1024
