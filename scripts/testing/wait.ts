/** Waiting in tests: a poll with a deadline, a plain sleep, and the teardown type every helper takes. */

/** What a helper needs of a tap test: somewhere to register clean-up. */
export interface Teardown { teardown: (fn: () => unknown) => void }

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` every `everyMs` until it is true (a throw counts as false); resolves with the
 * ms it took, rejects naming `what` after `timeoutMs`.
 */
export async function waitFor (
  check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition', everyMs = 20
): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
