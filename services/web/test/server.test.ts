import t from 'tap'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildWebServer } from '../src/app.js'
import { ConfigError, loadConfig, DEFAULT_WEB_PORT } from '../src/config.js'
import { staticSecurityHeaders } from '../../kernel/security-policy.js'
import type { Teardown } from '../../../scripts/testing/wait.js'

const INDEX = '<!doctype html><html><head><script type="module" ' +
  'src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>'

/** A fake Vite build in a temp dir, and the server listening on a free port. */
async function start (t: Teardown) {
  const distDir = mkdtempSync(join(tmpdir(), 'jwt-edge-web-'))
  mkdirSync(join(distDir, 'assets'))
  writeFileSync(join(distDir, 'index.html'), INDEX)
  writeFileSync(join(distDir, 'assets', 'index-abc123.js'), 'console.log("app")\n')
  writeFileSync(join(distDir, 'assets', 'index-abc123.css'), 'body { margin: 0 }\n')
  writeFileSync(join(distDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  const app = await buildWebServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', distDir }, { logger: false })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await app.close()
    rmSync(distDir, { recursive: true, force: true })
  })
  return url
}

t.test('GET / serves index.html, never cached, with a strict CSP', async (t) => {
  const url = await start(t)
  const res = await fetch(url + '/')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/html/)
  t.equal(res.headers.get('cache-control'), 'no-cache')
  for (const [name, value] of staticSecurityHeaders()) t.equal(res.headers.get(name), value, `the gateway's ${name}`)
  const csp = res.headers.get('content-security-policy') ?? ''
  t.match(csp, /(^|;)\s*script-src 'self'\s*(;|$)/, 'same-origin scripts only')
  t.match(csp, /(^|;)\s*style-src 'self'\s*(;|$)/, 'same-origin styles only')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.equal(await res.text(), INDEX)
})

t.test('client routes fall back to index.html so a reload keeps the page', async (t) => {
  const url = await start(t)
  for (const path of ['/orders', '/sessions', '/login?next=%2Forders', '/some/deep/route']) {
    const res = await fetch(url + path)
    t.equal(res.status, 200, path)
    t.equal(res.headers.get('cache-control'), 'no-cache', path)
    t.equal(await res.text(), INDEX, path)
  }
  const head = await fetch(url + '/orders', { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD too')
})

t.test('hashed assets are served immutable with a long max-age', async (t) => {
  const url = await start(t)
  const js = await fetch(url + '/assets/index-abc123.js')
  t.equal(js.status, 200)
  t.match(js.headers.get('content-type'), /javascript/)
  t.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  t.equal(await js.text(), 'console.log("app")\n')
  const css = await fetch(url + '/assets/index-abc123.css')
  t.equal(css.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  t.match(css.headers.get('content-type'), /text\/css/)
  const icon = await fetch(url + '/favicon.svg')
  t.equal(icon.status, 200)
  t.equal(icon.headers.get('cache-control'), 'no-cache', 'files outside /assets are revalidated')
})

t.test('missing files and API paths are a JSON 404, not the SPA', async (t) => {
  const url = await start(t)
  for (const path of ['/assets/missing-123.js', '/nope.png', '/api/orders', '/auth/login', '/.well-known/jwks.json']) {
    const res = await fetch(url + path)
    t.equal(res.status, 404, path)
    t.match(res.headers.get('content-type'), /application\/json/, path)
    const body = await res.json() as { error: string, message: string }
    t.equal(body.error, 'not_found', path)
    t.type(body.message, 'string')
  }
  const post = await fetch(
    url + '/orders',
    { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }
  )
  t.equal(post.status, 404, 'only GET/HEAD get the SPA')
  t.same(await post.json(), { error: 'not_found', message: 'no such file: POST /orders', statusCode: 404 })
})

t.test('errors get the public body: a 4xx keeps its message, a 5xx hides it', async (t) => {
  const distDir = mkdtempSync(join(tmpdir(), 'jwt-edge-web-errors-'))
  t.teardown(() => rmSync(distDir, { recursive: true, force: true }))
  writeFileSync(join(distDir, 'index.html'), INDEX)
  const app = await buildWebServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', distDir }, { logger: false })
  app.get('/boom', async () => { throw new Error('secret detail /etc/passwd') })
  app.get('/teapot', async () => { throw Object.assign(new Error('short and stout'), { statusCode: 418 }) })
  app.get('/busy', async () => { throw Object.assign(new Error('upstream db-7 down'), { statusCode: 503 }) })
  t.teardown(() => app.close())
  const boom = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(boom.statusCode, 500)
  t.same(boom.json(), { error: 'internal_error', message: 'Internal server error', statusCode: 500 })
  t.notMatch(boom.body, /passwd|at /)
  const teapot = await app.inject({ method: 'GET', url: '/teapot' })
  t.equal(teapot.statusCode, 418)
  t.same(teapot.json(), { error: 'invalid_request', message: 'short and stout', statusCode: 418 })
  const busy = await app.inject({ method: 'GET', url: '/busy' })
  t.equal(busy.statusCode, 500, 'a 5xx of the web server is a plain 500, 503 too')
  t.notMatch(busy.body, /db-7/)
})

t.test('GET /readyz is JSON 200, not the SPA', async (t) => {
  const url = await start(t)
  const res = await fetch(`${url}/readyz`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/json/)
  t.same(await res.json(), { status: 'ready', checks: { build: true } })
})

t.test('GET /healthz', async (t) => {
  const url = await start(t)
  const res = await fetch(url + '/healthz')
  t.equal(res.status, 200)
  t.same(await res.json(), { status: 'ok' })
})

t.test('a missing build fails at start with a clear message', async (t) => {
  const distDir = mkdtempSync(join(tmpdir(), 'jwt-edge-web-empty-'))
  t.teardown(() => rmSync(distDir, { recursive: true, force: true }))
  await t.rejects(buildWebServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', distDir }), /npm run build/)
})

t.test('loadConfig: defaults, and every bad variable reported at once', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, DEFAULT_WEB_PORT)
  t.equal(config.host, '127.0.0.1')
  t.match(config.distDir, /services[/\\]web[/\\]dist$/)
  t.ok(Object.isFrozen(config))
  t.equal(loadConfig({ WEB_PORT: '5000', WEB_HOST: '0.0.0.0' }).port, 5000)
  t.throws(() => loadConfig({ WEB_PORT: '1e3' }), /WEB_PORT/, 'digits only, like every demo service')
  try {
    loadConfig({ WEB_PORT: 'eighty', LOG_LEVEL: 'loud' })
    t.fail('should throw')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    t.equal((err as ConfigError).problems.length, 2)
    t.match((err as ConfigError).message, /WEB_PORT[\s\S]*LOG_LEVEL/)
  }
})
