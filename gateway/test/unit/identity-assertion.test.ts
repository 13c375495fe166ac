import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { IDENTITY_ASSERTION } from '../../src/contract.js'
import {
  initGatewayKeys, loadGatewayKeys, pruneGatewayKeys, readGatewayManifest, rotateGatewayKeys,
} from '../../src/identity-assertion/key-files.js'
import { createAssertionSigner } from '../../src/identity-assertion/signer.js'

function keysDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-keys-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const identity = { subject: 'user-1', roles: ['user', 'admin'], session: 'sid-1' }
const nowS = () => Math.floor(Date.now() / 1000)

t.test('key files: the first load creates an active and a next ES256 key, private files 0600', async (t) => {
  const dir = keysDir(t)
  const set = await loadGatewayKeys(dir)
  const manifest = (await readGatewayManifest(dir))!
  t.same(manifest.keys.map((k) => k.state), ['active', 'next'])
  t.equal(set.active.kid, manifest.keys[0]!.kid)
  t.same(set.jwks.keys.map((k) => k.kid), manifest.keys.map((k) => k.kid), 'next is published before it signs')
  for (const k of set.jwks.keys) {
    t.same(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], 'public parts only')
    t.equal(k.alg, 'ES256')
  }
  t.equal(statSync(join(dir, `${set.active.kid}.private.pem`)).mode & 0o777, 0o600)
  const again = await loadGatewayKeys(dir)
  t.equal(again.active.kid, set.active.kid, 'a second start keeps the keys')
  t.same(await initGatewayKeys(dir), manifest, 'init is idempotent')
})

t.test('key files: rotate publishes the old key as retiring; prune drops it only when old enough', async (t) => {
  const dir = keysDir(t)
  const before = await loadGatewayKeys(dir)
  const next = (await readGatewayManifest(dir))!.keys.find((k) => k.state === 'next')!.kid
  await rotateGatewayKeys(dir)
  const after = await loadGatewayKeys(dir)
  t.equal(after.active.kid, next, 'the pre-published next key signs')
  t.ok(after.jwks.keys.some((k) => k.kid === before.active.kid), 'the old key is still published')
  t.equal(after.jwks.keys.length, 3)
  const young = await pruneGatewayKeys(dir, 3600)
  t.same(young.removed, [], 'a key retired just now is kept')
  const old = await pruneGatewayKeys(dir, 60, { now: Date.now() + 61_000 })
  t.same(old.removed.map((k) => k.kid), [before.active.kid])
  t.notOk((await loadGatewayKeys(dir)).jwks.keys.some((k) => k.kid === before.active.kid), 'no longer published')
  t.throws(() => readFileSync(join(dir, `${before.active.kid}.private.pem`)), 'its files are gone')
})

t.test('signer: a verifiable ES256 JWT with the contract claims, aud the route id', async (t) => {
  const set = await loadGatewayKeys(keysDir(t))
  const signer = createAssertionSigner({ issuer: 'urn:test:gw', ttlS: 60, maxEntries: 10, keys: set.active })
  const tokenExp = nowS() + 900
  const token = signer.assertionFor('orders', identity, tokenExp)
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(set.jwks), {
    issuer: 'urn:test:gw', audience: 'orders', algorithms: ['ES256'], typ: IDENTITY_ASSERTION.typ,
  })
  t.same(protectedHeader, { alg: 'ES256', kid: set.active.kid, typ: IDENTITY_ASSERTION.typ })
  const { sub, sid, roles } = payload
  t.same({ sub, sid, roles }, { sub: 'user-1', sid: 'sid-1', roles: ['user', 'admin'] })
  t.equal(payload.exp! - payload.iat!, 60, 'exp is ttl after iat')
  t.match(payload.jti, /^[0-9a-f-]{36}$/)
})

t.test('signer: cached per (route, identity, token exp); another route or token is another assertion', async (t) => {
  const set = await loadGatewayKeys(keysDir(t))
  const signer = createAssertionSigner({ issuer: 'i', ttlS: 60, maxEntries: 10, keys: set.active })
  const exp = nowS() + 900
  const a = signer.assertionFor('orders', identity, exp)
  t.equal(signer.assertionFor('orders', identity, exp), a, 'the same assertion while fresh')
  t.not(signer.assertionFor('users', identity, exp), a, 'another route')
  t.not(signer.assertionFor('orders', { ...identity, roles: ['user'] }, exp), a, 'other roles')
  t.not(signer.assertionFor('orders', identity, exp + 1), a, 'another token (exp)')
  t.same(signer.stats(), { hits: 1, signed: 4 })
})

t.test('signer: exp never exceeds the access token exp, and is at most 60 s after iat', async (t) => {
  const set = await loadGatewayKeys(keysDir(t))
  const signer = createAssertionSigner({ issuer: 'i', ttlS: 60, maxEntries: 10, keys: set.active })
  const soon = nowS() + 7
  const short = decodeJwt(signer.assertionFor('orders', identity, soon))
  t.equal(short.exp, soon, 'bounded by the token')
  const long = decodeJwt(signer.assertionFor('orders', identity, nowS() + 86_400))
  t.equal(long.exp! - long.iat!, 60)
  t.throws(() => createAssertionSigner({ issuer: 'i', ttlS: 61, maxEntries: 1, keys: set.active }), RangeError)
})

t.test('signer: renewed once less than half its life is left (real clock, 2 s TTL)', async (t) => {
  const set = await loadGatewayKeys(keysDir(t))
  const signer = createAssertionSigner({ issuer: 'i', ttlS: 2, maxEntries: 10, keys: set.active })
  const exp = nowS() + 900
  const first = signer.assertionFor('orders', identity, exp)
  const { iat } = decodeJwt(first)
  // renewAt = iat + 1 s (half of 2 s): wait past it.
  while (Date.now() < (iat! + 1) * 1000 + 20) await new Promise((resolve) => setTimeout(resolve, 50))
  const second = signer.assertionFor('orders', identity, exp)
  t.not(second, first, 'a new assertion after half its life')
  t.ok(decodeJwt(second).exp! > decodeJwt(first).exp!, 'with a later exp')
})

t.test('signer: bounded cache, oldest out first; a new key empties it', async (t) => {
  const dir = keysDir(t)
  const set = await loadGatewayKeys(dir)
  const signer = createAssertionSigner({ issuer: 'i', ttlS: 60, maxEntries: 3, keys: set.active })
  const exp = nowS() + 900
  for (const route of ['a', 'b', 'c', 'd']) signer.assertionFor(route, identity, exp)
  t.equal(signer.size(), 3)
  await rotateGatewayKeys(dir)
  const rotated = await loadGatewayKeys(dir)
  const before = signer.assertionFor('d', identity, exp)
  signer.setKey(rotated.active)
  t.equal(signer.size(), 0, 'emptied on a new key')
  const after = signer.assertionFor('d', identity, exp)
  t.equal(decodeProtectedHeader(after).kid, rotated.active.kid, 'new assertions carry the new kid')
  const jwks = createLocalJWKSet(rotated.jwks)
  await t.resolves(jwtVerify(before, jwks), 'an assertion of the old key still verifies (overlap)')
})

t.test('signer: with no cache every call signs', async (t) => {
  const set = await loadGatewayKeys(keysDir(t))
  const signer = createAssertionSigner({ issuer: 'i', ttlS: 60, maxEntries: 0, keys: set.active })
  const exp = nowS() + 900
  t.not(signer.assertionFor('a', identity, exp), signer.assertionFor('a', identity, exp))
  t.equal(signer.size(), 0)
})
