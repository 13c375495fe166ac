import t from 'tap'
import { importJWK, type CryptoKey, type JWSHeaderParameters } from 'jose'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../../auth-service/src/contract.js'
import { invalidToken } from '../../src/errors.js'
import { createAuthenticator } from '../../src/pipeline/authenticate.js'
import { createTokenCache, tokenKey } from '../../src/pipeline/token-cache.js'
import { createSigner, signToken } from '../../../scripts/testing/jwt.js'
import { sleep } from '../../../scripts/testing/wait.js'

const nowS = () => Math.floor(Date.now() / 1000)
const identity = { subject: 'u1', roles: ['user'], session: 's1' }

t.test('TokenCache', async (t) => {
  const key = {} as CryptoKey
  const entry = { identity, iat: nowS(), exp: nowS() + 600, key }

  t.test('remembers a token by its hash, not its text', async (t) => {
    const cache = createTokenCache({ maxEntries: 10, ttlMs: 60_000 })
    const token = 'a.b.c'.repeat(100)
    t.equal(cache.get(token), undefined)
    cache.set(token, entry)
    const hit = cache.get(token)
    t.match(hit, { iat: entry.iat, exp: entry.exp, ...identity })
    t.equal(hit?.key, key, 'the very key object')
    t.notOk(JSON.stringify(hit).includes('a.b.c'), 'the entry does not hold the token')
    t.equal(tokenKey(token).length, 32, 'fixed-size key (the SHA-256 bytes)')
    t.ok(Object.isFrozen(hit) && Object.isFrozen(hit?.roles), 'the shared entry (it is the identity) is frozen')
    t.equal(cache.get('a.b.d'), undefined, 'another token misses')
    t.same(cache.stats(), { hits: 1, misses: 2 })
  })

  t.test('tokens with the same roles share one frozen role list', async (t) => {
    const cache = createTokenCache({ maxEntries: 10, ttlMs: 60_000, now: () => 1_000_000 })
    cache.set('t1', { ...entry, identity: { subject: 'a', roles: ['user', 'admin'], session: 's1' } })
    cache.set('t2', { ...entry, identity: { subject: 'b', roles: ['user', 'admin'], session: 's2' } })
    cache.set('t3', { ...entry, identity: { subject: 'c', roles: ['user'], session: 's3' } })
    t.equal(cache.get('t1')?.roles, cache.get('t2')?.roles, 'the same array object')
    t.same(cache.get('t3')?.roles, ['user'])
    t.not(cache.get('t3')?.roles, cache.get('t1')?.roles, 'another list is another object')
    t.same(
      cache.get('t2'),
      {
        subject: 'b', roles: ['user', 'admin'], session: 's2', iat: entry.iat, exp: entry.exp, key, expiresAt: 1_060_000
      },
      'nothing else is kept'
    )
  })

  t.test('an entry the caller cannot use is a miss, and goes', async (t) => {
    const cache = createTokenCache({ maxEntries: 10, ttlMs: 60_000 })
    cache.set('tok', entry)
    t.equal(cache.get('tok', () => false), undefined)
    t.same(cache.stats(), { hits: 0, misses: 1 })
    t.equal(cache.size(), 0, 'dropped')
    cache.set('tok', entry)
    t.equal(cache.get('tok', (e) => e.key === key)?.key, key)
    t.same(cache.stats(), { hits: 1, misses: 1 })
  })

  t.test('an entry lives until TOKEN_CACHE_TTL', async (t) => {
    const cache = createTokenCache({ maxEntries: 10, ttlMs: 50 })
    cache.set('tok', entry)
    t.ok(cache.get('tok'))
    await sleep(80)
    t.equal(cache.get('tok'), undefined, 'gone after the TTL')
    t.equal(cache.size(), 0, 'and dropped')
  })

  t.test('an entry never outlives the token exp', async (t) => {
    const cache = createTokenCache({ maxEntries: 10, ttlMs: 3_600_000 })
    const exp = nowS() + 30
    cache.set('soon', { ...entry, exp })
    t.equal(cache.get('soon')?.expiresAt, exp * 1000, 'expiresAt = exp when exp comes first')
    cache.set('past', { ...entry, exp: nowS() - 1 })
    t.equal(
      cache.get('past'), undefined, 'an already expired token (accepted within the clock tolerance) is not cached'
    )
  })

  t.test('bounded in entries: the oldest goes first', async (t) => {
    const cache = createTokenCache({ maxEntries: 3, ttlMs: 60_000 })
    for (const n of [1, 2, 3, 4, 5]) cache.set(`t${n}`, { ...entry, iat: entry.iat + n })
    t.equal(cache.size(), 3)
    t.equal(cache.get('t1'), undefined)
    t.equal(cache.get('t2'), undefined)
    t.equal(cache.get('t5')?.iat, entry.iat + 5)
    const off = createTokenCache({ maxEntries: 0, ttlMs: 60_000 })
    off.set('t', entry)
    t.equal(off.size(), 0, 'TOKEN_CACHE_MAX=0 caches nothing')
  })
})

t.test('authenticate with a cache', async (t) => {
  const signer = await createSigner('k1')
  const held = new Map<string, CryptoKey>([['k1', await importJWK({ ...signer.jwk }, 'RS256') as CryptoKey]])
  let revoked = false
  let keyLookups = 0 // getKey runs on every full verification, never on a hit
  const getKey = async (header: JWSHeaderParameters) => {
    keyLookups++
    const key = held.get(header.kid as string)
    if (!key) throw invalidToken('no_matching_key', 'no key matches the token kid')
    return key
  }
  const cache = createTokenCache({ maxEntries: 100, ttlMs: 60_000 })
  const authenticate = createAuthenticator({
    issuer: DEFAULT_ISSUER,
    audience: DEFAULT_AUDIENCE,
    clockToleranceS: 5,
    maxTokenBytes: 8192,
    getKey,
    isRevoked: () => revoked,
    cache,
    isCurrentKey: (key) => [...held.values()].includes(key),
  })
  const token = await signToken(signer, { claims: { sub: 'cached-user' } })
  const input = { authorization: [`Bearer ${token}`], cookie: undefined }
  const reasonOf = async () => {
    try { await authenticate(input); return 'ok' } catch (err) { return (err as { reason?: string }).reason }
  }

  const first = await authenticate(input)
  t.equal(first?.identity.subject, 'cached-user')
  t.equal(cache.size(), 1, 'verified once, then cached')
  const lookupsBefore = keyLookups
  const pending = authenticate(input)
  t.notOk(pending instanceof Promise, 'a hit is answered synchronously')
  const second = await pending
  t.equal(keyLookups, lookupsBefore, 'and without verifying again')
  t.match(second, { source: first?.source, identity: first?.identity }, 'a hit gives the same identity')
  t.equal(second?.identity.subject, 'cached-user')
  t.equal(cache.stats().hits, 1)
  const viaCookie = await authenticate({ authorization: undefined, cookie: `access_token=${token}` })
  t.equal(viaCookie?.source, 'cookie', 'the credential source is per request, not cached')

  revoked = true
  t.equal(await reasonOf(), 'revoked', 'revocation is checked on a hit')
  revoked = false
  t.equal(await reasonOf(), 'ok')

  // A JWKS refetch makes new key objects: the entry no longer matches, the token is verified again.
  const before = cache.stats()
  held.set('k1', await importJWK({ ...signer.jwk }, 'RS256') as CryptoKey)
  t.equal(await reasonOf(), 'ok', 'same key material after a refetch: still valid')
  t.same(cache.stats(), { hits: before.hits, misses: before.misses + 1 }, 'verified again: a miss, not a hit')
  t.equal(await reasonOf(), 'ok')
  t.equal(cache.stats().hits, before.hits + 1, 'then cached again under the new key object')

  held.delete('k1') // pruned from the JWKS
  t.equal(await reasonOf(), 'no_matching_key', 'a cached token whose key was removed is refused')

  const other = await createSigner('k1')
  held.set('k1', await importJWK({ ...other.jwk }, 'RS256') as CryptoKey)
  t.equal(await reasonOf(), 'bad_signature', 'another key under the same kid: verified again, and refused')
})
