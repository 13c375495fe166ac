import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

const base = { CSRF_SECRET: 'x'.repeat(32) }

t.test('performance settings: defaults', async (t) => {
  const c = loadConfig(base)
  t.equal(c.verifyImplementation, 'fast')
  t.equal(c.tokenCacheMax, 100_000)
  t.equal(c.tokenCacheTtlMs, 60_000)
  t.equal(c.workers, 1)
})

t.test('performance settings: set', async (t) => {
  const c = loadConfig(
    { ...base, VERIFY_IMPLEMENTATION: 'jose', TOKEN_CACHE_MAX: '0', TOKEN_CACHE_TTL: '2.5', GATEWAY_WORKERS: '2' }
  )
  t.same([c.verifyImplementation, c.tokenCacheMax, c.tokenCacheTtlMs, c.workers], ['jose', 0, 2500, 2])
})

t.test('performance settings: every bad one reported at once', async (t) => {
  const err = t.throws(
    () => loadConfig({
      ...base, VERIFY_IMPLEMENTATION: 'webcrypto', TOKEN_CACHE_MAX: '-1', TOKEN_CACHE_TTL: 'long', GATEWAY_WORKERS: '0'
    })
  ) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.problems.length, 4)
  t.match(err.message, /VERIFY_IMPLEMENTATION must be one of fast, jose \(got "webcrypto"\)/)
  t.match(err.message, /TOKEN_CACHE_MAX must be a whole number/)
  t.match(err.message, /TOKEN_CACHE_TTL must be a number/)
  t.match(err.message, /GATEWAY_WORKERS must be a whole number in 1\.\.64/)
})
