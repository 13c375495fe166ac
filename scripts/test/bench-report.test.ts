/**
 * The bench's pure parts: the report (ratios first, the baseline named, skipped targets said,
 * the cold path against raw verify), the GATEWAY_WORKERS plan per machine, and the token
 * material the load generator makes (a DPoP proof the kernel's verifier accepts).
 */
import t from 'tap'
import { verifyDpopProof } from '../../services/kernel/dpop.js'
import type { LoadResult } from '../bench/bench-lib.js'
import { ratioRows, renderReport, roundSpread, type ReportData, type Target } from '../bench/report.js'
import { scalingCases, type ScalingResult } from '../bench/scaling.js'
import { createDpopProver, createTokenKit } from '../bench/tokens.js'

/** A target that served `perCpu` requests per CPU-second over 4 s. */
function row (target: Target, perCpu: number, rounds = [1, 1, 1, 1]) {
  const total = perCpu * 4
  const load: LoadResult = {
    title: target,
    requestsPerSecond: total / 4,
    total,
    latency: { p50: 1, p90: 2, p99: 3, max: 4 },
    non2xx: 0,
    statusCodes: { 200: total },
    errors: 0,
    timeouts: 0,
    durationS: 4,
  }
  const perRound = rounds.map((f) => ({ total: perCpu * f, cpuS: 1 }))
  return { target, load, cpuS: 4, rssMb: 100, coreBusy: [0.9, 0.8], rounds: perRound }
}

const machine = { cpuModel: 'Test CPU', cores: 2, node: 'v20.0.0', os: 'Linux', pinning: 'pinned' }
const micro = {
  rawVerify: 40_000,
  joseVerify: 14_000,
  gatewayFast: 24_000,
  gatewayJose: 12_000,
  gatewayCacheHit: 500_000,
  dpopProofCheck: 6_000,
}

t.test('ratios: the issue\'s four first, against bare-nolog, HAProxy, the seeds\' stack and raw verify', async (t) => {
  const d: ReportData = {
    machine,
    rows: [
      row('bare-nolog', 5000), row('haproxy', 16000), row('gateway', 4000), row('seed', 800),
      row('gateway-cold', 2000), row('gateway-assert-sign', 3600), row('bare-log', 4500),
    ],
    skipped: [],
    micro,
  }
  const rows = ratioRows(d)
  t.same(rows.slice(0, 4).map(([what, value, , goal]) => [what.split(' (')[0], value, goal]), [
    ['gateway / bare-nolog', '0.80x', '>= 1.00x'],
    ['gateway / haproxy', '0.25x', '>= 0.50x (0.70x)'],
    ['gateway / seed', '5.00x', '>= 6x'],
    ['gateway-cold requests / raw node:crypto RS256 verifies', '0.05x', '>= 0.50x'],
  ])
  const cold = rows.find(([what]) => what.startsWith('one raw verify / what a new token adds'))
  // 1e6/2000 - 1e6/3600 = 222 µs added; a raw verify is 25 µs
  t.equal(cold?.[1], '0.11x', 'a new token\'s added cost against one raw verify, next to the assertion-signing row')
  t.match(cold?.[0], /gateway-cold - gateway-assert-sign/)
  t.ok(rows.some(([what, value]) => what.startsWith('bare-log / bare-nolog') && value === '0.90x'))
  t.notOk(rows.some(([what]) => what.startsWith('gateway-dpop')), 'an unmeasured target has no ratio row')
  const text = renderReport(d)
  t.ok(text.indexOf('Ratios') < text.indexOf('Targets ('), 'ratios before the table')
  t.match(text, /Machine: Test CPU, 2 cores, Node v20\.0\.0/)
  t.match(text, /^bare-nolog\s.*\s200\s+100 %\s+90 %\s+80 %\s+100/m, 'CPU µs per request and the cores\' busy shares')
  t.match(text, /bare-nolog: THE BASELINE/)
})

t.test('a skipped HAProxy is a ratio row and a table row that say why', async (t) => {
  const d: ReportData = {
    machine,
    rows: [row('bare-nolog', 5000), row('gateway', 4000)],
    skipped: [{ target: 'haproxy', reason: 'not installed (npm run bench -- --install-haproxy ...)' }],
  }
  const haproxy = ratioRows(d).find(([what]) => what.startsWith('gateway / haproxy'))
  t.equal(haproxy?.[1], 'haproxy: not installed')
  t.match(renderReport(d), /^haproxy\s+not installed \(npm run bench -- --install-haproxy/m)
  const alone = ratioRows({ ...d, rows: [row('gateway', 4000)] })
  t.notOk(alone.some(([what]) => what.startsWith('haproxy / bare-nolog')), 'none where the other side was not run')
})

t.test('roundSpread: the median and quartiles of the per-round ratios', async (t) => {
  const a = [1, 1, 1, 1, 1].map(() => ({ total: 100, cpuS: 1 }))
  const b = [50, 100, 100, 200, 100].map((n) => ({ total: n, cpuS: 1 }))
  t.equal(roundSpread(a, b), '1.00 [1.00-1.00]')
  t.equal(roundSpread(a.slice(0, 2), b), '', 'too few rounds for a spread')
  t.equal(roundSpread(undefined, b), '')
})

t.test('scalingCases: core 2 for the second worker when there is one, else core 1 shared with the load', async (t) => {
  t.same(scalingCases(2, true).map((c) => [c.workers, c.cpus]), [[1, '0'], [2, '0'], [2, '0,1']])
  t.match(scalingCases(2, true)[2]?.note, /shared with the load generator/)
  t.same(scalingCases(4, true).map((c) => [c.workers, c.cpus]), [[1, '0'], [2, '0'], [2, '0,2']])
  t.same(scalingCases(1, false).map((c) => c.workers), [1, 2])
})

t.test('the scaling table and its ratios', async (t) => {
  const scaling = scalingCases(2, true).map((c, i): ScalingResult => {
    const r = row('gateway', [4000, 3000, 5000][i] as number)
    return {
      ...c,
      load: r.load,
      cpuS: r.cpuS,
      processes: c.workers === 1 ? 1 : 3,
      rssMb: 100 * c.workers,
      coreBusy: [1, 0.5],
      switchesPerRequest: 0.5,
      primaryCpuS: 0.01,
      loadGeneratorCpuS: 1,
      upstreamCpuS: 0.5,
      rounds: r.rounds,
    }
  })
  const d: ReportData = { machine, rows: [], skipped: [], scaling }
  const rows = ratioRows(d)
  t.ok(rows.some(([what, value]) => /^GATEWAY_WORKERS 2 on cores 0,1 \/ 1 worker \(req\/s/.test(what) && value === '1.25x'))
  t.ok(rows.some(([what, value]) => /^GATEWAY_WORKERS 2 on core 0 \/ 1 worker/.test(what) && value === '0.75x'))
  const text = renderReport(d)
  t.match(text, /^2 workers, 2 cores\s+0,1\s+5000/m)
  t.match(text, /the primary's own CPU: 0\.01 s/)
})

t.test('tokens: the bench\'s DPoP proofs pass the kernel\'s verifier, bound to the token\'s cnf.jkt', async (t) => {
  const kit = createTokenKit()
  const prover = createDpopProver()
  const token = kit.makeToken('u-1', { claims: { cnf: { jkt: prover.jkt } } })
  const htu = 'http://127.0.0.1:8080/api/orders'
  const a = prover.proof('GET', htu, token)
  const b = prover.proof('GET', htu, token)
  t.not(a, b, 'a new proof every time')
  const verified = await verifyDpopProof(a, { method: 'GET', urls: [htu], accessToken: token, windowS: 60 })
  t.equal(verified.jkt, prover.jkt, 'the thumbprint the token is bound to')
  const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
  t.same(payload.cnf, { jkt: prover.jkt })
  await t.rejects(verifyDpopProof(a, { method: 'POST', urls: [htu], accessToken: token, windowS: 60 }))
})
