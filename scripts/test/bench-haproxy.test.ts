/**
 * The bench's HAProxy baseline (scripts/bench/haproxy.ts): the generated configuration, and,
 * where HAProxy is installed, that HAProxy accepts it and makes the checks the gateway makes
 * (a baseline that skipped a check would flatter HAProxy). Without HAProxy those parts are
 * skipped with a reason that says how to get it.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../auth-service/src/contract.js'
import { findHaproxy, haproxyConfig, haproxyVersion, supportsJwtVerify } from '../bench/haproxy.js'
import { createTokenKit } from '../bench/tokens.js'
import { freePort } from '../testing/ports.js'

const base = {
  port: 18443,
  upstream: 'http://127.0.0.1:18080',
  publicKeyPath: '/tmp/bench/key.pem',
  issuer: 'urn:jwt-edge:auth',
  audience: 'urn:jwt-edge:api',
}

t.test('haproxyConfig: one thread, loopback, the gateway\'s checks, the same rewrite and upstream', async (t) => {
  const cfg = haproxyConfig(base)
  t.match(cfg, /^\s+nbthread 1$/m, 'one thread, so its CPU compares with one Node process')
  t.match(cfg, /^\s+bind 127\.0\.0\.1:18443$/m)
  t.notMatch(cfg, /^\s+log /m, 'no logging')
  t.match(cfg, /jwt_header_query\('\$\.alg'\)/)
  t.match(cfg, /acl alg_ok var\(txn\.alg\) -m str RS256/)
  t.match(cfg, /acl typ_ok var\(txn\.typ\) -m str at\+jwt/)
  t.match(cfg, /acl iss_ok var\(txn\.iss\) -m str "urn:jwt-edge:auth"/)
  t.match(cfg, /acl aud_ok var\(txn\.aud\) -m str "urn:jwt-edge:api"/)
  t.match(cfg, /acl exp_ok var\(txn\.exp\),add\(5\),sub\(txn\.now\) -m int ge 0/, 'exp with the clock tolerance')
  t.match(cfg, /jwt_verify\(txn\.alg,"\/tmp\/bench\/key\.pem"\) -m int 1/)
  t.match(cfg, /unless alg_ok typ_ok iss_ok aud_ok exp_ok sig_ok$/m, 'the signature last, after the cheap checks')
  t.match(cfg, /http-request del-header x-user-id\n/, 'client identity headers stripped')
  t.match(cfg, /http-request del-header authorization/, 'the token is not forwarded')
  t.match(cfg, /replace-path \^\\\/api\\\/orders\(\/\.\*\)\?\$ \/orders\\1/)
  t.match(cfg, /http-reuse always\n\s+server upstream 127\.0\.0\.1:18080$/m, 'kept-alive upstream connections')
  t.match(haproxyConfig({ ...base, clockToleranceS: 0 }), /add\(0\)/)
})

t.test('haproxyConfig refuses what it cannot write safely', async (t) => {
  t.throws(() => haproxyConfig({ ...base, upstream: 'http://10.0.0.1:80' }), /refusing/, 'non-loopback upstream')
  t.throws(() => haproxyConfig({ ...base, issuer: 'a"b' }), /issuer/, 'a quote')
  t.throws(() => haproxyConfig({ ...base, audience: '$' + '{HOME}' }), /audience/, 'an env expansion')
  t.throws(() => haproxyConfig({ ...base, publicKeyPath: 'key.pem' }), /absolute/)
  t.throws(() => haproxyConfig({ ...base, prefix: '/a b' }), /prefix/)
  t.throws(() => haproxyConfig({ ...base, port: 0 }), /port/)
})

t.test('findHaproxy: a missing binary is a reason, not a crash; versions below 2.5 are refused', async (t) => {
  const found = findHaproxy({ bin: '/nonexistent/haproxy', install: false })
  t.ok('missing' in found && /not installed \(.*--install-haproxy.*BENCH_INSTALL=haproxy/.test(found.missing))
  t.equal(haproxyVersion('/nonexistent/haproxy'), null)
  t.ok(supportsJwtVerify({ version: '2.6.12', major: 2, minor: 6 }))
  t.notOk(supportsJwtVerify({ version: '2.4.22', major: 2, minor: 4 }))
  t.ok(supportsJwtVerify({ version: '3.0.0', major: 3, minor: 0 }))
})

const installed = haproxyVersion('haproxy')
const skip = installed === null
  ? 'haproxy is not installed (apt-get install haproxy, or npm run bench -- --install-haproxy)'
  : false

t.test('haproxy -c accepts the generated file', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-haproxy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'key.pem'), createTokenKit().publicKeyPem)
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig({ ...base, publicKeyPath: join(dir, 'key.pem') }))
  const r = spawnSync('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
})

/** `token` with claims changed and its signature kept. */
function withPayload (token: string, claims: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const changed = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ...claims }
  return `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`
}

t.test('HAProxy with the generated file verifies tokens as the gateway does', { skip }, async (t) => {
  const kit = createTokenKit()
  const other = createTokenKit()
  const dir = mkdtempSync(join(tmpdir(), 'bench-haproxy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const seen: Array<{ url?: string, headers: http.IncomingHttpHeaders }> = []
  const upstream = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers })
    res.end('{}')
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => upstream.close())
  const port = await freePort()
  writeFileSync(join(dir, 'key.pem'), kit.publicKeyPem)
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig({
    port,
    upstream: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
    publicKeyPath: join(dir, 'key.pem'),
    issuer: DEFAULT_ISSUER,
    audience: DEFAULT_AUDIENCE,
  }))
  const child = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const call = async (authorization?: string, extra: Record<string, string> = {}) => {
    const headers = { ...(authorization ? { authorization } : {}), ...extra }
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/orders/o-1?x=1`, { headers })
        return { status: r.status, challenge: r.headers.get('www-authenticate'), body: await r.text() }
      } catch (err) {
        if (i > 50) throw err
        await new Promise((resolve) => setTimeout(resolve, 100)) // not listening yet
      }
    }
  }
  const now = Math.floor(Date.now() / 1000)
  const good = kit.makeToken('u-1', { sid: 's-1' })
  const ok = await call(`Bearer ${good}`, { 'x-user-id': 'spoofed', 'x-identity-token': 'forged' })
  t.equal(ok.status, 200, 'a valid token passes')
  const last = seen.at(-1)
  t.equal(last?.url, '/orders/o-1?x=1', 'the prefix rewritten, the query kept')
  t.equal(last?.headers['x-user-id'], 'u-1', 'sub from the token, not the spoofed header')
  t.equal(last?.headers['x-session-id'], 's-1')
  t.notOk(last?.headers['x-identity-token'], 'a client-sent assertion is stripped')
  t.notOk(last?.headers.authorization, 'the token is not forwarded')
  t.equal((await call(`Bearer ${kit.makeToken('u', { claims: { exp: now - 2 } })}`)).status, 200,
    'expired within the clock tolerance passes (5 s, as the gateway)')
  const refused: Array<[string, string | undefined]> = [
    ['no token', undefined],
    ['not Bearer', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['expired past the tolerance', `Bearer ${kit.makeToken('u', { claims: { exp: now - 60 } })}`],
    ['no exp', `Bearer ${kit.makeToken('u', { claims: { exp: undefined } })}`],
    ['another issuer', `Bearer ${kit.makeToken('u', { claims: { iss: 'https://evil.example' } })}`],
    ['another audience', `Bearer ${kit.makeToken('u', { claims: { aud: 'other-api' } })}`],
    ['typ JWT, not at+jwt', `Bearer ${kit.makeToken('u', { header: { typ: 'JWT' } })}`],
    ['signed by another key', `Bearer ${other.makeToken('u')}`],
    ['a changed payload', `Bearer ${withPayload(good, { sub: 'admin' })}`],
    ['alg none', `Bearer ${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${
      good.split('.')[1]}.`],
  ]
  for (const [what, authorization] of refused) {
    const r = await call(authorization)
    t.equal(r.status, 401, `${what}: 401`)
    t.equal(r.challenge, 'Bearer error="invalid_token"', `${what}: the RFC 6750 challenge`)
  }
  t.same(JSON.parse((await call()).body), { error: 'invalid_token', message: 'invalid or missing access token' })
})
