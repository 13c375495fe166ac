/**
 * Reload in the real entry point (server.ts) with GATEWAY_WORKERS=2: a replaced file reaches
 * every worker, and so does a SIGHUP sent to the primary (which passes it on and stays up).
 * New connections go round-robin to the workers, so a run of answers all showing one version
 * is every worker showing it.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileGatewayText } from '../../src/gateway-file/index.js'
import { request, startEchoUpstream } from '../../../scripts/testing/http.js'
import { startNode } from '../../../scripts/testing/node-process.js'
import { useTestRedis } from '../../../scripts/testing/redis.js'
import { waitFor } from '../../../scripts/testing/wait.js'

const echo = await startEchoUpstream(t, 'echo')
const fileFor = (rewrite: string) => `
providers:
  - { id: local, issuer: urn:jwt-edge:auth, audience: urn:jwt-edge:api, jwksUrl: 'http://127.0.0.1:9/jwks', revocation: true }
routes:
  - { id: svc, prefix: /svc, upstream: '\${ECHO}', rewritePrefix: ${rewrite}, auth: none }
`
const versionOf = (text: string) => {
  const compiled = compileGatewayText(text, 'x.yaml', { ECHO: echo.url })
  if (!compiled.ok) throw new Error(compiled.problems.join('\n'))
  return compiled.file.version
}

t.test('two workers: a replaced file and a SIGHUP to the primary reach both', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'gateway.yaml')
  writeFileSync(path, fileFor('/one'))
  const r = await useTestRedis(t)
  const gw = await startNode(t, {
    name: 'gateway',
    entry: 'gateway/src/server.ts',
    env: {
      GATEWAY_CONFIG: path,
      ECHO: echo.url,
      GATEWAY_WORKERS: '2',
      GATEWAY_PORT: '0',
      REDIS_URL: r.url,
      REDIS_PREFIX: r.prefix,
      CSRF_SECRET: randomBytes(32).toString('base64url'),
      GATEWAY_REGISTRY_INTERVAL: '0',
    },
  })
  // Each request on its own connection: the next worker answers it.
  const everyWorkerOn = async (version: string) => {
    await waitFor(async () => {
      for (let i = 0; i < 8; i++) {
        if ((await request(gw.url, '/readyz')).json?.config?.version !== version) return false
      }
      return true
    }, 10_000, `both workers on ${version}`)
  }
  await everyWorkerOn(versionOf(fileFor('/one')))

  writeFileSync(join(dir, 'next.yaml'), fileFor('/two'))
  renameSync(join(dir, 'next.yaml'), path)
  await everyWorkerOn(versionOf(fileFor('/two')))
  for (let i = 0; i < 4; i++) t.match((await request(gw.url, '/svc/x')).json, { url: '/two/x' })

  // Written in place, which the watcher may or may not see: SIGHUP makes sure.
  writeFileSync(path, fileFor('/three'))
  gw.child.kill('SIGHUP')
  await everyWorkerOn(versionOf(fileFor('/three')))
  t.ok(gw.running(), 'the primary is still up after SIGHUP')
  for (let i = 0; i < 4; i++) t.match((await request(gw.url, '/svc/x')).json, { url: '/three/x' })
  const exit = await gw.stop()
  t.equal(exit.code, 0)
  // Logs are buffered: read once the workers have flushed them on their way out.
  const reloaded = gw.logs().filter((l) => l.msg === 'gateway file reloaded')
  t.equal(new Set(reloaded.map((l) => l.pid)).size, 2, 'both workers logged their reloads')
  t.ok(reloaded.length >= 4, `two reloads each (${reloaded.length} lines)`)
})
