/**
 * Reload of the gateway file (ops/reload.ts): a file replaced by rename or a SIGHUP swaps the
 * whole configuration; an invalid file changes nothing; requests in flight finish on the
 * configuration they started on; under a steady load of concurrent requests, 20 replacements
 * (two valid tables and an invalid one, in turn) fail no request and mix no tables.
 */
import t, { type Test } from 'tap'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Agent } from 'undici'
import { compileGatewayText } from '../../src/gateway-file/index.js'
import { request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { sleep, waitFor } from '../../../scripts/testing/wait.js'
import { startGateway, type TestGateway } from '../helpers/fixtures.js'

const a = await startEchoUpstream(t, 'a')
const b = await startEchoUpstream(t, 'b')
const c = await startEchoUpstream(t, 'c')
const ENV = { A: a.url, B: b.url, C: c.url }

const PROVIDERS = `
providers:
  - { id: local, issuer: urn:jwt-edge:auth, audience: urn:jwt-edge:api, jwksUrl: 'http://127.0.0.1:9/jwks', revocation: true }
`
/** Table one: /svc to a, rewritten to /one; /old only here. */
const ONE = `${PROVIDERS}
routes:
  - { id: svc, prefix: /svc, upstream: '\${A}', rewritePrefix: /one, auth: none }
  - { id: old, prefix: /old, upstream: '\${A}', auth: none }
`
/** Table two: /svc to b, rewritten to /two; /new only here; /old gone. */
const TWO = `${PROVIDERS}
routes:
  - { id: svc, prefix: /svc, upstream: '\${B}', rewritePrefix: /two, auth: none }
  - { id: new, prefix: /new, upstream: '\${B}', auth: none }
`
/** Would send /svc to c, but two problems make it invalid: it must never be applied. */
const INVALID = `${PROVIDERS}
routes:
  - { id: svc, prefix: /svc, upstream: '\${C}', rewritePrefix: /three, auth: none, roles: { GET: [x] } }
  - { id: svc, prefix: /other, upstream: 'not a url', auth: none }
`

const versionOf = (text: string): string => {
  const compiled = compileGatewayText(text, 'gateway.yaml', ENV)
  if (!compiled.ok) throw new Error(compiled.problems.join('\n'))
  return compiled.file.version
}
const V1 = versionOf(ONE)
const V2 = versionOf(TWO)

interface Following { gw: TestGateway, path: string, replace: (text: string) => void }

/** A gateway on table one, following its file; `replace` writes another name and renames it over. */
async function following (t: Test, reload: { watch?: boolean } = {}): Promise<Following> {
  const dir = t.testdir({})
  const path = join(dir, 'gateway.yaml')
  writeFileSync(path, ONE)
  const compiled = compileGatewayText(ONE, path, ENV)
  if (!compiled.ok) throw new Error(compiled.problems.join('\n'))
  const gw = await startGateway(t, {
    jwksUrl: 'http://127.0.0.1:9/jwks',
    waitReady: false,
    deps: { file: compiled.file, reload: { path, env: ENV, signal: false, settleMs: 20, ...reload } },
  })
  let n = 0
  const replace = (text: string) => {
    const next = join(dir, `.gateway.yaml.${n++}`)
    writeFileSync(next, text)
    renameSync(next, path)
  }
  return { gw, path, replace }
}

const readyz = async (gw: TestGateway) => (await request(gw.url, '/readyz')).json
const metric = async (gw: TestGateway, line: string): Promise<number> => {
  const text = (await request(gw.url, '/metrics')).text
  const found = text.split('\n').find((l) => l.startsWith(`${line} `))
  return found === undefined ? NaN : Number(found.slice(line.length + 1))
}
const SUCCESS = 'gateway_config_reloads_total{result="success"}'
const FAILURE = 'gateway_config_reloads_total{result="failure"}'
/** The contract says within 2 s; the bound here is looser for a busy machine, and the figure is printed. */
const untilVersion = async (gw: TestGateway, version: string) => {
  const inForce = async () => (await readyz(gw)).config.version === version
  const ms = await waitFor(inForce, 5000, `version ${version} in force`)
  t.comment(`version ${version} in force ${Math.round(ms)} ms after the replacement`)
}

t.test('a replaced file is applied whole: new routes, removed routes 404, /readyz and metrics say so', async (t) => {
  const { gw, replace } = await following(t)
  t.equal((await readyz(gw)).config.version, V1, '/readyz shows the version in force')
  t.match((await request(gw.url, '/svc/x')).json, { upstream: 'a', url: '/one/x' })
  t.equal((await request(gw.url, '/old')).status, 200)
  const before = await metric(gw, 'gateway_config_last_reload_success_timestamp_seconds')
  t.ok(before > 0, 'start-up counts as the first success')

  replace(TWO)
  await untilVersion(gw, V2)
  t.match((await request(gw.url, '/svc/x')).json, { upstream: 'b', url: '/two/x' }, 'the route moved')
  t.match((await request(gw.url, '/new/y')).json, { upstream: 'b', url: '/new/y' }, 'a new route')
  const gone = await request(gw.url, '/old')
  t.equal(gone.status, 404, 'a removed route')
  t.match(gone.json, { error: 'not_found' })
  t.equal(await metric(gw, SUCCESS), 1)
  t.equal(await metric(gw, FAILURE), 0)
  t.ok(await metric(gw, 'gateway_config_last_reload_success_timestamp_seconds') >= before)
  t.ok(gw.logs.some((l) => l.includes('gateway file reloaded') && l.includes(V2)), 'logged with its version')
})

t.test('a file replaced between the start-up read and the watcher is in force before it listens', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'gateway.yaml')
  const compiled = compileGatewayText(ONE, path, ENV) // what start-up read
  if (!compiled.ok) throw new Error(compiled.problems.join('\n'))
  writeFileSync(path, TWO) // ...and what is there by the time the watcher starts: no event will come
  const gw = await startGateway(t, {
    jwksUrl: 'http://127.0.0.1:9/jwks',
    waitReady: false,
    deps: { file: compiled.file, reload: { path, env: ENV, signal: false, settleMs: 20 } },
  })
  // Listening means ready(): before any request (no I/O in between), the file on disk is in force.
  t.equal(gw.app.gatewayConfig.current.version, V2, 'in force once listening')
  t.equal((await readyz(gw)).config?.version, V2, 'the file on disk in force')
  t.match((await request(gw.url, '/svc/x')).json, { url: '/two/x' })
  t.equal(await metric(gw, 'gateway_config_reloads_total{result="success"}'), 1)
})

t.test('an invalid file changes nothing, and every problem is logged', async (t) => {
  const { gw, replace } = await following(t)
  replace(INVALID)
  await waitFor(async () => await metric(gw, FAILURE) === 1, 5000, 'the failure counted')
  t.equal((await readyz(gw)).config.version, V1, 'the running configuration stays')
  t.match((await request(gw.url, '/svc/x')).json, { upstream: 'a', url: '/one/x' })
  t.equal((await request(gw.url, '/old')).status, 200)
  t.equal(await metric(gw, SUCCESS), 0)
  const refused = gw.logs.find((l) => l.includes('gateway file reload refused'))
  t.ok(refused, 'logged')
  const problems: string[] = JSON.parse(refused!).problems
  t.ok(problems.some((p) => p.startsWith('routes[0].roles.GET')), 'the roles problem, with its place')
  t.ok(problems.some((p) => p.startsWith('routes[1].upstream')), 'and the upstream problem')
  t.ok(problems.some((p) => p.startsWith('routes[1].id')), 'and the duplicate id')

  replace(TWO)
  await untilVersion(gw, V2)
  t.equal(await metric(gw, SUCCESS), 1, 'a valid file after it applies')
})

t.test('a forced reload (what SIGHUP does) applies a file written in place', async (t) => {
  const { gw, path } = await following(t, { watch: false })
  writeFileSync(path, TWO)
  t.equal((await readyz(gw)).config.version, V1, 'not watched: nothing yet')
  t.equal(await gw.app.reloadGatewayFile(), 'success')
  t.equal((await readyz(gw)).config.version, V2)
  t.match((await request(gw.url, '/svc/x')).json, { upstream: 'b' })
  writeFileSync(path, INVALID)
  t.equal(await gw.app.reloadGatewayFile(), 'failure')
  t.equal((await readyz(gw)).config.version, V2, 'an invalid one: nothing changed')
})

t.test('a request in flight finishes on the configuration it started on', async (t) => {
  const { gw, replace } = await following(t)
  const slow = request(gw.url, '/svc/slow') // the echo answers /slow after 1 s
  await sleep(300) // on loopback, long enough for the request to reach the gateway
  replace(TWO)
  await untilVersion(gw, V2)
  t.match((await request(gw.url, '/svc/x')).json, { upstream: 'b' }, 'new requests: table two')
  const answered = await slow
  t.equal(answered.status, 200)
  t.match(answered.json, { upstream: 'a', url: '/one/slow' }, 'the slow one: table one, upstream and rewrite')
})

t.test('under load: 20 replacements, no failed request, each answered by exactly one table', async (t) => {
  const { gw, replace } = await following(t)
  const agent = new Agent({ connections: 16 })
  t.teardown(() => agent.close())
  const seen = { one: 0, two: 0 }
  const failures: string[] = []
  const load = { stop: false }
  const worker = async () => {
    for (let i = 0; !load.stop; i++) {
      const path = `/svc/${i}`
      try {
        const res = await fetch(`${gw.url}${path}`, { dispatcher: agent } as RequestInit)
        const body = await res.json() as { upstream?: string, url?: string }
        if (res.status === 200 && body.upstream === 'a' && body.url === `/one/${i}`) seen.one++
        else if (res.status === 200 && body.upstream === 'b' && body.url === `/two/${i}`) seen.two++
        else failures.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`)
      } catch (err) {
        failures.push(String(err))
      }
    }
  }
  const workers = Array.from({ length: 16 }, worker)

  const sequence = [TWO, INVALID, ONE, INVALID] // valid, invalid, the other valid, invalid, ...
  let expectedSuccess = 0
  let expectedFailure = 0
  for (let i = 0; i < 20; i++) {
    const text = sequence[i % sequence.length]!
    const answeredBefore = seen.one + seen.two
    replace(text)
    if (text === INVALID) {
      expectedFailure++
      await waitFor(async () => await metric(gw, FAILURE) === expectedFailure, 5000, `failure ${expectedFailure}`)
    } else {
      expectedSuccess++
      await untilVersion(gw, text === ONE ? V1 : V2)
    }
    // Let the load run on this table for a while before the next replacement.
    await waitFor(async () => seen.one + seen.two >= answeredBefore + 50, 5000, 'requests answered')
  }
  load.stop = true
  await Promise.all(workers)

  t.same(failures, [], 'no request failed, was answered by c (the invalid table) or by a mix of tables')
  t.ok(seen.one > 0 && seen.two > 0, `both tables answered (one: ${seen.one}, two: ${seen.two})`)
  t.equal(await metric(gw, SUCCESS), expectedSuccess, `${expectedSuccess} applied`)
  t.equal(await metric(gw, FAILURE), expectedFailure, `${expectedFailure} refused`)
  t.equal((await readyz(gw)).config.version, V1, 'the last valid file is in force')
})
