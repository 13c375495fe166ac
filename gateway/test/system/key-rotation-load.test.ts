/**
 * Signing-key rotation under load: the real auth service and gateway in-process (loopback,
 * port 0, real Redis, a temp KEYS_DIR), autocannon driving authenticated requests and
 * body-mode refreshes from 20 users while the keys CLI rotates twice and prunes.
 * Zero non-2xx for valid sessions; old tokens verify until their key is pruned, then 401.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { decodeProtectedHeader } from 'jose'
import { buildAuthService } from '../../../auth-service/src/app.js'
import { loadConfig as loadAuthConfig } from '../../../auth-service/src/config.js'
import { runKeysCli } from '../../../auth-service/src/cli/keys/index.js'
import { initKeyring } from '../../../auth-service/src/keys/keyring.js'
import { readManifest, type KeyState } from '../../../auth-service/src/keys/manifest.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { bearer, request } from '../../../scripts/testing/http.js'
import { startGateway } from '../helpers/fixtures.js'
import { sleep, waitFor } from '../../../scripts/testing/wait.js'

// autocannon ships no types: the few fields used here.
interface CannonRequest {
  method: string
  path: string
  setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => Record<string, unknown>
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
}
interface CannonResult {
  requests: { total: number, average: number },
  non2xx: number,
  errors: number,
  timeouts: number,
  statusCodeStats: Record<string,
  { count: number }>,
}
type CannonRun = PromiseLike<CannonResult> & { stop: () => void }
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => CannonRun

const USERS = 20
/** Upper bound: the load is stopped 2 s after the prune (about 15 s in; longer on a busy machine). */
const MAX_DURATION_S = 60

interface Session { access: string, refresh: string }

t.test('two rotations and a prune under load: zero non-2xx for valid sessions, pruned key → 401', async (t) => {
  const setupStarted = Date.now()
  const dir = mkdtempSync(join(tmpdir(), 'rotation-load-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await initKeyring(dir)
  const redis = await useTestRedis(t)
  const keysEnv = { KEYS_DIR: dir, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix }
  const kidIn = async (state: KeyState) => (await readManifest(dir))!.keys.find((k) => k.state === state)!.kid

  const auth = await buildAuthService(
    loadAuthConfig({ ...keysEnv, KEYS_RELOAD_INTERVAL: '1', LOG_LEVEL: 'silent' }), { logger: false }
  )
  t.teardown(() => auth.close())
  await auth.listen({ host: '127.0.0.1', port: 0 })
  const authUrl = `http://127.0.0.1:${(auth.server.address() as { port: number }).port}`
  // The upstream: answers 200 with what it got. Closes its keep-alive sockets on close (the
  // gateway's upstream pool keeps them open, so a default close would wait for them).
  const echo = Fastify({ forceCloseConnections: true })
  echo.all('/*', async (request) => ({ url: request.url, user: request.headers['x-user-id'] }))
  await echo.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => echo.close())
  const echoUrl = `http://127.0.0.1:${(echo.server.address() as { port: number }).port}`
  const gw = await startGateway(t, {
    jwksUrl: `${authUrl}/.well-known/jwks.json`,
    upstream: echoUrl,
    redis: { url: redis.url, prefix: redis.prefix },
    config: {
      authUrl,
      jwksRefreshIntervalMs: 1000,
      gatewayRegistryIntervalMs: 1000,
      rateLimitAuth: 1_000_000,
      rateLimitApi: 1_000_000,
    },
  })

  const post = async (path: string, body: unknown) => await request(gw.url, path, {
    method: 'POST', headers: [['content-type', 'application/json']], body: JSON.stringify(body),
  })
  const register = async (i: number): Promise<Session> => {
    const res = await post('/auth/register', {
      email: `load-${i}-${Date.now()}@example.test`, password: 'correct horse battery', tokenDelivery: 'body'
    })
    if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`)
    return { access: res.json.accessToken, refresh: res.json.refreshToken }
  }
  const refresh = async (s: Session): Promise<Session> => {
    const res = await post('/auth/refresh', { refreshToken: s.refresh })
    if (res.status !== 200) throw new Error(`refresh: ${res.status} ${res.text}`)
    return { access: res.json.accessToken, refresh: res.json.refreshToken }
  }
  const call = async (token: string) => await request(gw.url, '/api/orders', { headers: [bearer(token)] })

  const kidA = await kidIn('active')
  const free: Session[] = []
  for (let i = 0; i < USERS; i += 5) free.push(...await Promise.all([0, 1, 2, 3, 4].map((j) => register(i + j))))
  // A witness session outside the load: its first token (key A) must verify until A is pruned.
  let witness = await register(USERS)
  const tokenA = witness.access
  t.equal(decodeProtectedHeader(tokenA).kid, kidA, 'sessions start on key A')

  // Each connection leases a user for one cycle (4 calls + 1 refresh), so a refresh family
  // is never used by two connections at once, and returns it with the rotated tokens.
  const issuedKids = new Map<string, number>()
  let starved = 0
  const lease = (context: Record<string, unknown>): Session | undefined => {
    if (context.session === undefined) {
      context.session = free.shift()
      if (context.session === undefined) starved++
    }
    return context.session as Session | undefined
  }
  const api: CannonRequest = {
    method: 'GET',
    path: '/api/orders',
    setupRequest: (req, context) => {
      const s = lease(context)
      return { ...req, path: s ? '/api/orders' : '/healthz', headers: s ? { authorization: `Bearer ${s.access}` } : {} }
    },
  }
  const refreshRequest: CannonRequest = {
    method: 'POST',
    path: '/auth/refresh',
    setupRequest: (req, context) => {
      const s = lease(context)
      return s
        ? { ...req, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: s.refresh }) }
        : { ...req, method: 'GET', path: '/healthz', headers: {}, body: undefined }
    },
    onResponse: (status, body, context) => {
      const s = context.session as Session | undefined
      if (!s) return
      if (status === 200) {
        const next = JSON.parse(body) as { accessToken: string, refreshToken: string }
        const kid = decodeProtectedHeader(next.accessToken).kid!
        issuedKids.set(kid, (issuedKids.get(kid) ?? 0) + 1)
        free.push({ access: next.accessToken, refresh: next.refreshToken })
      } else {
        free.push(s)
      }
    },
  }

  const started = Date.now()
  t.comment(`setup (stack + ${USERS + 1} registrations): ${((started - setupStarted) / 1000).toFixed(1)} s`)
  const load = autocannon({
    url: gw.url,
    connections: USERS,
    connectionRate: 10,
    duration: MAX_DURATION_S,
    requests: [api, api, api, api, refreshRequest],
  })

  const cli = async (args: string[]) => {
    const lines: string[] = []
    const code = await runKeysCli(
      args, { env: { ...keysEnv, GATEWAY_URLS: '' }, out: (l) => lines.push(l), err: (l) => lines.push(l) }
    )
    if (code !== 0) throw new Error(`keys ${args.join(' ')} failed:\n${lines.join('\n')}`)
    return lines.join('\n')
  }

  await sleep(3000)
  const kidB = await kidIn('next')
  const r1 = await cli(['rotate', '--wait', '5'])
  const rotatedAt1 = Date.now()
  t.match(
    r1,
    /all 1 gateway\(s\) hold the next key/,
    `rotation 1 at ${((rotatedAt1 - started) / 1000).toFixed(1)} s waited for no one: the gateway held B`
  )
  t.equal(await kidIn('active'), kidB)
  // The witness moves to key B (the auth service reloads on the keys message).
  await waitFor(async () => {
    witness = await refresh(witness)
    return decodeProtectedHeader(witness.access).kid === kidB
  }, 5000, 'tokens signed with B')
  const tokenB = witness.access

  await sleep(4000)
  const kidC = await kidIn('next')
  const r2 = await cli(['rotate', '--wait', '5'])
  const rotatedAt2 = Date.now()
  t.match(r2, /all 1 gateway\(s\) hold the next key/, 'rotation 2: the gateway already held C')
  t.equal(await kidIn('active'), kidC)
  await waitFor(async () => {
    witness = await refresh(witness)
    return decodeProtectedHeader(witness.access).kid === kidC
  }, 5000, 'tokens signed with C')

  await sleep(3000)
  t.equal((await call(tokenA)).status, 200, 'a token of key A still verifies before the prune (A is retiring)')
  // Prune A only: the minimum age falls between A's (retired first) and B's.
  const minAge = ((Date.now() - rotatedAt1) + (Date.now() - rotatedAt2)) / 2000
  const pruned = await cli(['prune', '--older-than', minAge.toFixed(1)])
  t.match(pruned, `pruned ${kidA}`)
  t.match(pruned, `kept ${kidB}`)
  await waitFor(
    async () => !(await request(gw.url, '/readyz')).json.kids.some((k: { kid: string }) => k.kid === kidA),
    3000,
    'gateway to drop A'
  )
  const afterPrune = await call(tokenA)
  t.equal(afterPrune.status, 401, 'a token signed by the pruned key → 401')
  t.equal(afterPrune.json.error, 'invalid_token')
  t.match(afterPrune.headers['www-authenticate'], /Bearer error="invalid_token"/)
  t.equal((await call(tokenB)).status, 200, 'a token of key B (retiring, not pruned) still verifies')
  t.notMatch((await request(gw.url, '/metrics')).text, `kid="${kidA}"`, 'the key age gauge no longer lists A')

  await sleep(2000)
  load.stop()
  const result = await load
  const seconds = (Date.now() - started) / 1000
  const refreshes = [...issuedKids.values()].reduce((a, b) => a + b, 0)
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]))
  t.comment(`rotation under load: ${result.requests.total} requests in ${seconds.toFixed(1)} s ` +
    `(${result.requests.average} req/s avg) from ${USERS} users, ${refreshes} refreshes, ` +
    `non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}; ` +
    `statuses ${JSON.stringify(statuses)}; tokens issued per kid ${JSON.stringify(Object.fromEntries(issuedKids))}`)
  t.ok(result.requests.total >= 500, `a real load (${result.requests.total} requests)`)
  t.equal(result.non2xx, 0, 'zero non-2xx for valid sessions')
  t.equal(result.errors, 0, 'no connection errors')
  t.equal(result.timeouts, 0, 'no timeouts')
  t.equal(starved, 0, 'every cycle had its own session')
  t.ok(
    (issuedKids.get(kidB) ?? 0) > 0 && (issuedKids.get(kidC) ?? 0) > 0,
    'refreshes under load got tokens of B, then of C'
  )
})
