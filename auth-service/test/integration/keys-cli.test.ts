/**
 * The keys CLI against gateways as the registry contract describes them (gateway/src/contract.ts):
 * a stand-in that polls a real JWKS server, lists the kids it holds on GET /readyz and keeps its
 * registry entry fresh in real Redis. The real gateway's side of that contract is tested there.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import { GATEWAY_REGISTRY, type GatewayRegistryEntry } from '../../../gateway/src/contract.js'
import { runKeysCli } from '../../src/cli/keys/index.js'
import { initKeyring, loadKeyring } from '../../src/keys/keyring.js'
import { readManifest, type KeyState } from '../../src/keys/manifest.js'
import { KEYS_EVENTS } from '../../src/contract.js'
import { startJwksServer } from '../../../scripts/testing/jwt.js'
import { waitFor, sleep, type Teardown } from '../../../scripts/testing/wait.js'
import { useTestRedis, type TestRedis } from '../../../scripts/testing/redis.js'
import { freePort } from '../../../scripts/testing/ports.js'
import { REPO_ROOT } from '../../../scripts/testing/node-process.js'

/** A gateway as the keys CLI sees one: registry entry + /readyz kids, refreshed from the JWKS every 200 ms. */
async function startStandInGateway (t: Teardown, jwksUrl: string, redis: TestRedis): Promise<{ url: string }> {
  const id = `gw-${randomUUID().slice(0, 8)}`
  let kids: string[] = []
  const app = Fastify()
  app.get('/readyz', async () => ({ status: 'ready', kids: kids.map((kid) => ({ kid, ageSeconds: 0 })) }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const refresh = async () => {
    const jwks = await (await fetch(jwksUrl)).json() as { keys: Array<{ kid: string }> }
    kids = jwks.keys.map((k) => k.kid)
    const now = Date.now()
    const entry: GatewayRegistryEntry = { id, url, kids, updatedAt: now, expiresAt: now + 5000 }
    await redis.client.hset(GATEWAY_REGISTRY.key(redis.prefix), id, JSON.stringify(entry))
  }
  await refresh()
  const timer = setInterval(() => { refresh().catch(() => {}) }, 200)
  t.teardown(async () => { clearInterval(timer); await app.close() })
  return { url }
}

async function cli (args: string[], env: Record<string, string>) {
  const out: string[] = []
  const err: string[] = []
  const code = await runKeysCli(args, { env, out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const kidIn = async (dir: string, state: KeyState) =>
  (await readManifest(dir))!.keys.find((k) => k.state === state)!.kid

function tempKeys (t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'keys-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('rotate refuses while a gateway lacks the next kid, proceeds once it has it; ' +
  '--force proceeds and says what it skipped', async (t) => {
  const dir = tempKeys(t)
  await initKeyring(dir)
  const redis = await useTestRedis(t)
  const env = { KEYS_DIR: dir, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix }
  const jwk = async (kid: string) => (await loadKeyring(dir)).jwks.keys.find((k) => k.kid === kid)!
  const [a, b] = [await kidIn(dir, 'active'), await kidIn(dir, 'next')]
  // The gateway's JWKS lags behind keys/: it publishes only the active key for now.
  const jwks = await startJwksServer(t, [await jwk(a)])
  const gw = await startStandInGateway(t, `${jwks.url}/.well-known/jwks.json`, redis)

  const refused = await cli(['rotate'], env)
  t.equal(refused.code, 1, 'exit 1')
  t.match(refused.err, /refusing to rotate: 1 of 1 gateway\(s\) do not hold the next key/, 'says why')
  t.match(refused.err, b, 'names the next kid')
  t.match(refused.err, gw.url, 'names the gateway')
  t.match(refused.err, `holds ${a}`, 'and what it holds')
  t.equal(await kidIn(dir, 'active'), a, 'nothing rotated')

  const status = await cli(['status'], env)
  t.equal(status.code, 0)
  t.match(status.out, new RegExp(`${a}\\s+active.*1/1`), 'status: the active kid is held by 1 of 1 gateway')
  t.match(status.out, new RegExp(`${b}\\s+next.*0/1`), 'status: the next kid by none')
  t.match(status.out, /gateways \(1\):/)
  t.match(status.out, `holds ${a} (active)`)

  // The JWKS now publishes the next key too; --wait polls until the gateway holds it.
  jwks.setKeys([await jwk(a), await jwk(b)])
  const rotated = await cli(['rotate', '--wait', '10'], env)
  t.equal(rotated.code, 0, rotated.err)
  t.match(rotated.out, /all 1 gateway\(s\) hold the next key/)
  t.match(rotated.out,
    new RegExp(`published keys_changed on ${KEYS_EVENTS.channel(redis.prefix)} \\(\\d+ subscribers?\\)`))
  t.equal(await kidIn(dir, 'active'), b, 'next → active')
  t.equal(await kidIn(dir, 'retiring'), a, 'active → retiring')
  const c = await kidIn(dir, 'next')
  t.not(c, b, 'a new next key')

  // The gateway does not hold the new next key (its JWKS fixture lags): --force rotates anyway.
  const forced = await cli(['rotate', '--force'], env)
  t.equal(forced.code, 0, forced.err)
  t.match(forced.err, /--force: skipped the gateway check: 1 of 1 gateway\(s\) do not hold the next key/,
    'says what it skipped')
  t.match(forced.err, gw.url)
  t.equal(await kidIn(dir, 'active'), c)

  // Registry empty (other prefix), gateway listed in GATEWAY_URLS: asked directly.
  const dead = `http://127.0.0.1:${await freePort()}`
  const byUrl = await cli(['rotate'],
    { ...env, REDIS_PREFIX: `${redis.prefix}other:`, GATEWAY_URLS: `${gw.url},${dead}` })
  t.equal(byUrl.code, 1)
  t.match(byUrl.err, /2 of 2 gateway\(s\)/)
  t.match(byUrl.err, `${dead}: no answer (ECONNREFUSED)`, 'an unreachable gateway counts as lacking')
  const bad = await cli(['rotate'], { ...env, GATEWAY_URLS: 'gw-1:8080' })
  t.equal(bad.code, 2)
  t.match(bad.err, /GATEWAY_URLS entries must be http\(s\) URLs/)
})

t.test('rotate refuses when no gateway can be found (Redis down, no GATEWAY_URLS) unless --force', async (t) => {
  const dir = tempKeys(t)
  await initKeyring(dir)
  const env = { KEYS_DIR: dir, REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: 'unused:' }
  const next = await kidIn(dir, 'next')
  const refused = await cli(['rotate'], env)
  t.equal(refused.code, 1)
  t.match(refused.err, /refusing to rotate: cannot find the gateways/)
  const forced = await cli(['rotate', '--force'], env)
  t.equal(forced.code, 0, forced.err)
  t.match(forced.err, /--force: skipped the gateway check: cannot find the gateways/)
  t.match(forced.err, /keys message not sent/)
  t.equal(await kidIn(dir, 'active'), next)
})

t.test('prune: refuses keys younger than ACCESS_TOKEN_TTL + CLOCK_TOLERANCE, removes old ones, ' +
  '--force removes all', async (t) => {
  const dir = tempKeys(t)
  await initKeyring(dir)
  const redis = await useTestRedis(t)
  const env = { KEYS_DIR: dir, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, GATEWAY_URLS: '' }
  const a = await kidIn(dir, 'active')
  t.equal((await cli(['rotate', '--force'], env)).code, 0)
  const refused = await cli(['prune'], env)
  t.equal(refused.code, 1)
  t.match(refused.err, new RegExp(`refusing to prune ${a} \\(retired \\d+ s ago\\): younger than 905 s`),
    'default minimum age 900 + 5 s')
  t.match((await cli(['prune'], { ...env, ACCESS_TOKEN_TTL: '60', CLOCK_TOLERANCE: '0' })).err, /younger than 60 s/,
    'from ACCESS_TOKEN_TTL + CLOCK_TOLERANCE')
  t.equal(await kidIn(dir, 'retiring'), a, 'still there')

  await sleep(2000) // real time: retiredAt is written from the wall clock
  const b = await kidIn(dir, 'active')
  t.equal((await cli(['rotate', '--force'], env)).code, 0)
  // a retired ≥ 2 s before b: a minimum age half-way between their ages prunes a only.
  const retiredAt = async (kid: string) =>
    Date.parse((await readManifest(dir))!.keys.find((k) => k.kid === kid)!.retiredAt!)
  const midway = (Date.now() - (await retiredAt(a) + await retiredAt(b)) / 2) / 1000
  const some = await cli(['prune', '--older-than', midway.toFixed(2)], env)
  t.equal(some.code, 0, some.err)
  t.match(some.out, `pruned ${a}`)
  t.match(some.out, new RegExp(`kept ${b}: retired \\d+ s ago, prunable in \\d+ s`))
  const sub = redis.client.duplicate()
  t.teardown(() => sub.disconnect())
  const messages: string[] = []
  sub.on('message', (_ch: string, m: string) => messages.push(m))
  await sub.subscribe(KEYS_EVENTS.channel(redis.prefix))
  const forced = await cli(['prune', '--force'], env)
  t.equal(forced.code, 0)
  t.match(forced.err, `--force: pruned without waiting 905 s; every token signed by ${b} is now rejected`)
  t.same((await readManifest(dir))!.keys.map((k) => k.state).sort(), ['active', 'next'])
  await waitFor(() => messages.length > 0, 2000, 'keys message')
  t.match(JSON.parse(messages[0]!), { type: 'keys_changed', action: 'prune', active: await kidIn(dir, 'active') })
  t.match((await cli(['prune'], env)).out, /nothing to prune/)
  t.equal((await cli(['bogus'], env)).code, 2, 'unknown command: usage, exit 2')
})

t.test('the npm run keys entry point (child process) exits non-zero and explains a refused rotation', async (t) => {
  const dir = tempKeys(t)
  await initKeyring(dir)
  const redis = await useTestRedis(t)
  const run = promisify(execFile)
  const dead = `http://127.0.0.1:${await freePort()}`
  const env = { ...process.env, KEYS_DIR: dir, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, GATEWAY_URLS: dead }
  const err = await run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'rotate'],
    { cwd: REPO_ROOT, env }).then(() => null, (e: { code: number, stderr: string }) => e)
  t.ok(err, 'fails')
  t.equal(err!.code, 1)
  t.match(err!.stderr, /refusing to rotate: 1 of 1 gateway\(s\) do not hold the next key/)
  const ok = await run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'list'], { cwd: REPO_ROOT, env })
  t.match(ok.stdout, /active/)
  t.match(ok.stdout, `${dead} [GATEWAY_URLS] unknown: ECONNREFUSED`,
    'list shows the gateway and why its kids are unknown')
})
