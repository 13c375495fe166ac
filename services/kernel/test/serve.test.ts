/**
 * serve and configOrExit as a process uses them: a real child process per case (they install
 * signal handlers and exit), a real port, a real SIGTERM.
 */
import t from 'tap'
import { ConfigError } from '../env.js'
import { configOrExit, urlFor } from '../serve.js'
import { startNode } from '../../../scripts/testing/node-process.js'

const PROBE = 'services/kernel/test/fixtures/serve-probe.ts'

t.test('urlFor: http://host:port, IPv6 hosts in brackets', async (t) => {
  t.equal(urlFor('127.0.0.1', 8080), 'http://127.0.0.1:8080')
  t.equal(urlFor('localhost', 1), 'http://localhost:1')
  t.equal(urlFor('::1', 4000), 'http://[::1]:4000')
})

t.test('serve listens on the real port, logs one ready line, and closes on SIGTERM with exit 0', async (t) => {
  const probe = await startNode(t, { name: 'probe', entry: PROBE, env: { PROBE_MODE: 'serve', PROBE_PORT: '0' } })
  const port = Number(new URL(probe.url).port)
  t.ok(port > 0, 'port 0 is reported as the port the OS gave')
  const ready = probe.logs().filter((l) => String(l.msg).includes('ready'))
  t.equal(ready.length, 1, 'one ready line')
  t.equal(ready[0]?.msg, `probe ready at http://127.0.0.1:${port}`)
  t.equal(ready[0]?.url, `http://127.0.0.1:${port}`)
  const health = await fetch(`${probe.url}/healthz`)
  t.equal(health.status, 200)
  t.same(await probe.stop('SIGTERM'), { code: 0, signal: null })
  t.ok(probe.logs().some((l) => l.signal === 'SIGTERM' && l.msg === 'closing'), 'the close is logged with its signal')
})

t.test('serve closes on SIGINT too', async (t) => {
  const probe = await startNode(t, { name: 'probe', entry: PROBE, env: { PROBE_MODE: 'serve', PROBE_PORT: '0' } })
  t.same(await probe.stop('SIGINT'), { code: 0, signal: null })
  t.ok(probe.logs().some((l) => l.signal === 'SIGINT' && l.msg === 'closing'))
})

t.test('configOrExit exits 1 on a ConfigError, printing every problem after the name', async (t) => {
  const started = startNode(t, { name: 'probe', entry: PROBE, env: { PROBE_MODE: 'config-error' } })
  // startNode rejects with the exit code and the process's last output lines.
  const err = await started.then(() => null, (e: Error) => e)
  t.match(err?.message, /^probe exited \(1\) before ready/)
  t.match(err?.message, /probe: Invalid probe configuration:\n {2}- PROBE_PORT is bad\n {2}- LOG_LEVEL is bad/)
  t.notMatch(err?.message, /configOrExit returned/)
})

t.test('configOrExit rethrows any other error', async (t) => {
  const started = startNode(t, { name: 'probe', entry: PROBE, env: { PROBE_MODE: 'other-error' } })
  const err = await started.then(() => null, (e: Error) => e)
  t.match(err?.message, /^probe exited \(3\) before ready/)
  t.match(err?.message, /rethrown: TypeError: not a config problem/)
  t.throws(() => configOrExit('probe', () => { throw new TypeError('in-process') }), TypeError, 'in-process too')
})

t.test('configOrExit returns what the loader returns', async (t) => {
  t.same(configOrExit('probe', () => ({ port: 1 })), { port: 1 })
  t.ok(new ConfigError('probe', ['x']) instanceof Error)
})
