import t from 'tap'
import { freePort } from '../../../scripts/testing/ports.js'
import { startNode } from '../../../scripts/testing/node-process.js'

t.test('a service entry listens, logs one ready line with its URL, and closes on SIGTERM with exit 0', async (t) => {
  const port = await freePort()
  const payments = await startNode(t, {
    name: 'payments',
    entry: 'services/payments/src/server.ts',
    env: { PAYMENTS_PORT: String(port), PAYMENTS_HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    readyTimeoutMs: 60_000,
  })
  const ready = payments.logs().filter((l) => String(l.msg).includes('ready'))
  t.equal(ready.length, 1, 'one ready line')
  t.equal(ready[0]?.msg, `payments ready at http://127.0.0.1:${port}`)
  t.equal(ready[0]?.url, `http://127.0.0.1:${port}`)
  const health = await fetch(`${payments.url}/healthz`)
  t.equal(health.status, 200)
  t.same(await payments.stop('SIGTERM'), { code: 0, signal: null })
  t.ok(
    payments.logs().some((l) => l.signal === 'SIGTERM' && l.msg === 'closing'),
    'the close is logged with its signal'
  )
})

t.test('a service entry with bad config exits 1 naming every bad variable', async (t) => {
  const started = startNode(
    t,
    { name: 'orders', entry: 'services/orders/src/server.ts', env: { ORDERS_PORT: 'abc', LOG_LEVEL: 'loud' } }
  )
  // startNode rejects with the exit code and the process's last output lines.
  const err = await started.then(() => null, (e: Error) => e)
  t.match(err?.message, /^orders exited \(1\) before ready/)
  t.match(err?.message, /ORDERS_PORT must be a whole number/)
  t.match(err?.message, /LOG_LEVEL must be one of/)
})
