import t from 'tap'
import type { CryptoKey } from 'jose'
import { createTokenCache } from '../../src/pipeline/token-cache.js'

const key = {} as CryptoKey
const identity = { subject: 'u', roles: ['user'], session: 's' }

t.test('under churn of ever-new tokens the cache holds about rate × TTL entries, not all it ever saw', async (t) => {
  let clock = 1_000_000
  const ttlMs = 60_000
  const cache = createTokenCache({ maxEntries: 100_000, ttlMs, now: () => clock })
  const perSecond = 20
  let peak = 0
  for (let second = 0; second < 300; second++) {
    for (let i = 0; i < perSecond; i++) {
      const nowS = Math.floor(clock / 1000)
      cache.set(`token-${second}-${i}`, { identity, iat: nowS, exp: nowS + 900, key })
    }
    peak = Math.max(peak, cache.size())
    clock += 1000
  }
  const live = perSecond * (ttlMs / 1000)
  t.ok(peak <= live + perSecond, `peak ${peak} entries for ${perSecond * 300} tokens seen (live at once: ${live})`)
  t.equal(cache.get('token-0-0'), undefined, 'an entry past its TTL is gone')
  t.ok(cache.get('token-299-0'), 'a recent one is still there')
})

t.test('an entry goes at its token exp when that comes before the TTL', async (t) => {
  let clock = 5_000_000
  const cache = createTokenCache({ maxEntries: 1000, ttlMs: 60_000, now: () => clock })
  const nowS = Math.floor(clock / 1000)
  cache.set('short', { identity, iat: nowS, exp: nowS + 10, key })
  clock += 11_000
  t.equal(cache.sweep(), 1, 'swept at exp, 49 s before the TTL')
  t.equal(cache.size(), 0)
})

t.test('sweep() frees every expired entry when nothing new arrives', async (t) => {
  let clock = 0
  const cache = createTokenCache({ maxEntries: 1000, ttlMs: 1000, now: () => clock })
  for (let i = 0; i < 500; i++) cache.set(`t${i}`, { identity, iat: 0, exp: 900, key })
  clock = 999
  t.equal(cache.sweep(), 0, 'nothing is expired yet')
  clock = 1000
  t.equal(cache.sweep(), 500, 'all expired at once')
  t.equal(cache.size(), 0)
})
