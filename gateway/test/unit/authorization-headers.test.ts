import t from 'tap'
import http from 'node:http'
import { authorizationHeaders } from '../../src/pipeline/credentials.js'
import { request } from '../../../scripts/testing/http.js'

t.test('authorizationHeaders(rawHeaders) is what headersDistinct.authorization gives', async (t) => {
  const seen: Array<[string[] | undefined, string[] | undefined]> = []
  const server = http.createServer((req, res) => {
    seen.push([authorizationHeaders(req.rawHeaders), req.headersDistinct.authorization])
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const cases: Array<Array<[string, string]>> = [
    [],
    [['Authorization', 'Bearer a']],
    [['authorization', 'Bearer a'], ['AUTHORIZATION', 'Bearer b']],
    [['Authorization', '  Bearer  spaced  ']],
    [['Authorization', '']],
    [['X-Authorization', 'Bearer x'], ['Authorizations', 'y']],
  ]
  for (const headers of cases) await request(base, '/', { headers })
  t.equal(seen.length, cases.length)
  for (const [i, [ours, node]] of seen.entries()) t.same(ours, node, `case ${i}`)
  t.same(seen[2]?.[0], ['Bearer a', 'Bearer b'], 'every copy, in order')
})

t.test('isCanonicalB64url agrees with a decode/re-encode round trip', async (t) => {
  const { isCanonicalB64url } = await import('../../src/pipeline/credentials.js')
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/='
  let seed = 42 // mulberry32
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), seed | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return (((x ^ (x >>> 14)) >>> 0) % n)
  }
  let canonical = 0
  for (let i = 0; i < 20_000; i++) {
    const s = Array.from({ length: 1 + rand(12) }, () => alphabet[rand(i % 3 === 0 ? alphabet.length : 64)]).join('')
    const expected = /^[A-Za-z0-9_-]+$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s
    if (expected) canonical++
    if (isCanonicalB64url(s) !== expected) t.fail(`disagree on "${s}"`)
  }
  for (const s of ['', 'A', 'AA', 'AB', 'AAA', 'AAB', 'QQ', 'Qg', 'YQ', 'YR', 'c2lnbmF0dXJl']) {
    t.equal(
      isCanonicalB64url(s), s !== '' && Buffer.from(s, 'base64url').toString('base64url') === s, JSON.stringify(s)
    )
  }
  t.ok(canonical > 1000, `${canonical} canonical strings among the random ones`)
})
