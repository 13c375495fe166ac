/**
 * The kernel's DPoP helpers that need no server: htu normalisation (RFC 9449 section 4.3 with
 * RFC 3986 section 6), the DPoP header count, and the replay-cache TTL.
 */
import t from 'tap'
import { normaliseHtu, proofHeaders, replayTtlMs } from '../dpop.js'

t.test('normaliseHtu: scheme and host case, default ports, %-encoding, no query or fragment', async (t) => {
  const rows: Array<[string, string | null]> = [
    ['https://api.example.com/api/orders', 'https://api.example.com/api/orders'],
    ['HTTPS://API.Example.COM/api/orders', 'https://api.example.com/api/orders'],
    ['https://api.example.com:443/api/orders', 'https://api.example.com/api/orders'],
    ['http://api.example.com:80/x', 'http://api.example.com/x'],
    ['http://api.example.com:8080/x', 'http://api.example.com:8080/x'],
    ['https://api.example.com/api/%6Frders', 'https://api.example.com/api/orders'],
    ['https://api.example.com/a%2fb', 'https://api.example.com/a%2Fb'],
    ['https://api.example.com/api/orders?page=2#top', 'https://api.example.com/api/orders'],
    ['https://api.example.com', 'https://api.example.com/'],
    ['https://api.example.com/API/orders', 'https://api.example.com/API/orders'],
    ['ftp://api.example.com/x', null],
    ['/api/orders', null],
    ['not a url', null],
  ]
  for (const [input, expected] of rows) t.equal(normaliseHtu(input), expected, input)
})

t.test('proofHeaders finds every DPoP header, any case', async (t) => {
  t.same(proofHeaders(['Host', 'x', 'DPoP', 'a', 'dpop', 'b']), ['a', 'b'])
  t.same(proofHeaders(['Host', 'x', 'DPoPx', 'a']), [])
})

t.test('a claimed jti is kept for the whole span its iat is accepted, and a second more', async (t) => {
  t.equal(replayTtlMs(60), 121_000)
  t.equal(replayTtlMs(1), 3000)
})
