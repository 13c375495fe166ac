/**
 * GET /readyz on every demo service and the web app: JSON, 200, no identity needed (they have
 * no dependencies, so ready means listening). Real servers on port 0, called with fetch.
 */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildOrdersService } from '../../orders/src/app.js'
import { buildUsersService } from '../../users/src/app.js'
import { buildPaymentsService } from '../../payments/src/app.js'
import { buildWebServer } from '../../web/src/app.js'

async function listen (t: { teardown: (fn: () => unknown) => void }, app: FastifyInstance): Promise<string> {
  t.teardown(() => app.close())
  return await app.listen({ host: '127.0.0.1', port: 0 })
}

for (const [name, build] of [['orders', buildOrdersService], ['users', buildUsersService], ['payments', buildPaymentsService]] as const) {
  t.test(`${name}: GET /readyz is JSON 200 without identity headers`, async (t) => {
    const url = await listen(t, build() as unknown as FastifyInstance)
    const res = await fetch(`${url}/readyz`)
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /application\/json/)
    t.same(await res.json(), { status: 'ready', service: name, checks: {} })
  })
}

t.test('web: GET /readyz is JSON 200, not the SPA', async (t) => {
  const distDir = mkdtempSync(join(tmpdir(), 'jwt-edge-web-ready-'))
  t.teardown(() => rmSync(distDir, { recursive: true, force: true }))
  writeFileSync(join(distDir, 'index.html'), '<!doctype html><title>x</title>')
  const url = await listen(t, await buildWebServer({ host: '127.0.0.1', port: 0, logLevel: 'silent', distDir }, { logger: false }))
  const res = await fetch(`${url}/readyz`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/json/)
  t.same(await res.json(), { status: 'ready', checks: { build: true } })
})
