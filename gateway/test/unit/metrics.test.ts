import t from 'tap'
import { createMetrics, registerStoreGauges } from '../../src/ops/metrics.js'
import type { KeyStore } from '../../src/keys/key-store.js'
import type { RevocationStore } from '../../src/revocation/revocation-store.js'

const keys = { heldKeys: () => [], lastSuccessAt: () => 0, isUsable: () => true } as unknown as KeyStore
const revocations = { counts: () => ({ sessions: 0, users: 0 }), isHealthy: () => true } as unknown as RevocationStore

t.test('requests, durations and verifications counted on the request path, rendered at scrape time', async (t) => {
  const metrics = createMetrics()
  registerStoreGauges(metrics.registry, { keys, revocations, providers: () => [] })
  metrics.recordRequest('orders', 'GET', 200, 0.004)
  metrics.recordRequest('orders', 'GET', 200, 0.02)
  metrics.recordRequest('orders', 'POST', 403, 0.3)
  metrics.recordRequest('not_found', 'GET', 404, 20)
  metrics.recordVerification('ok', 'none')
  metrics.recordVerification('ok', 'none')
  metrics.recordVerification('denied', 'token_expired')
  const text = await metrics.registry.metrics()
  const lines = text.split('\n')
  const has = (line: string) => t.ok(lines.includes(line), line)
  has('# TYPE gateway_request_duration_seconds histogram')
  has('gateway_requests_total{route="orders",method="GET",status="200"} 2')
  has('gateway_requests_total{route="orders",method="POST",status="403"} 1')
  has('gateway_request_duration_seconds_bucket{route="orders",le="0.005"} 1')
  has('gateway_request_duration_seconds_bucket{route="orders",le="0.025"} 2')
  has('gateway_request_duration_seconds_bucket{route="orders",le="0.25"} 2')
  has('gateway_request_duration_seconds_bucket{route="orders",le="0.5"} 3')
  has('gateway_request_duration_seconds_bucket{route="orders",le="+Inf"} 3')
  has('gateway_request_duration_seconds_count{route="orders"} 3')
  has('gateway_request_duration_seconds_bucket{route="not_found",le="10"} 0')
  has('gateway_request_duration_seconds_bucket{route="not_found",le="+Inf"} 1')
  has('gateway_request_duration_seconds_sum{route="not_found"} 20')
  has('gateway_token_verifications_total{outcome="ok",reason="none"} 2')
  has('gateway_token_verifications_total{outcome="denied",reason="token_expired"} 1')
  const sum = Number(
    lines.find((l) => l.startsWith('gateway_request_duration_seconds_sum{route="orders"}'))?.split(' ')[1]
  )
  t.ok(Math.abs(sum - 0.324) < 1e-9, `sum ${sum}`)
  // A second scrape counts nothing twice.
  t.ok(
    (await metrics.registry.metrics()).includes('gateway_requests_total{route="orders",method="GET",status="200"} 2')
  )
})
