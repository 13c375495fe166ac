/**
 * The keyring in use, replaceable at run time (a key reload swaps it whole).
 * - Readers take `current` on every use, so nobody keeps a stale keyring.
 */
import type { Keyring } from './keyring.js'

export interface KeyringHolder {
  readonly current: Keyring
  replace: (next: Keyring) => void
}

export function holdKeyring (initial: Keyring): KeyringHolder {
  let current = initial
  return {
    get current () { return current },
    replace (next) { current = next },
  }
}
