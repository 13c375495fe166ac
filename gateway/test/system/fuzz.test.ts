/**
 * Hostile input through the whole stack in one process (gateway, auth service, orders and
 * users on loopback, one real Redis): seeded cases by category (scripts/testing/fuzz.ts),
 * each sent as raw bytes on its own socket. Every answer is a 4xx in the contract's JSON
 * shape within 2 s, never a 5xx, a hang or a crash, and no refused registration leaves an
 * account behind. FUZZ_SEED replays a run.
 */
import t from 'tap'
import { normaliseEmail } from '../../../auth-service/src/users/email.js'
import { startInProcessStack } from '../helpers/in-process-stack.js'
import { fuzzCases, rawRequest, sendRaw, type FuzzCategory } from '../../../scripts/testing/fuzz.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261203)
const PER_CATEGORY = 12
const ANSWER_WITHIN_MS = 2000
const CONCURRENCY = 4

t.test(`fuzz through the gateway (seed ${SEED})`, async (t) => {
  const { gatewayPort: port, redis } = await startInProcessStack(t, {
    auth: { LOGIN_MAX_FAILURES: '0' },
    gateway: { RATE_LIMIT_AUTH: '100000', RATE_LIMIT_NOT_FOUND: '100000' },
  })

  const cases = fuzzCases(SEED, PER_CATEGORY)
  const answers = new Array<Awaited<ReturnType<typeof sendRaw>>>(cases.length)
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < cases.length) {
      const i = next++
      answers[i] = await sendRaw(port, rawRequest(cases[i]!, `127.0.0.1:${port}`), ANSWER_WITHIN_MS + 3000)
    }
  }))

  const counts = new Map<FuzzCategory, Map<string, number>>()
  const failures: string[] = []
  for (const [i, c] of cases.entries()) {
    const a = answers[i]!
    const byStatus = counts.get(c.category) ?? new Map<string, number>()
    counts.set(c.category, byStatus)
    byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1)
    const what = `${c.category}: ${c.d} (${c.method} ${c.path})`
    let body: { error?: unknown, message?: unknown } | null = null
    try { body = JSON.parse(a.body) } catch {}
    if (a.status < 400 || a.status > 499) failures.push(`${what}: status ${a.status}${a.error ? ` (${a.error})` : ''}`)
    else if (typeof body?.error !== 'string' || typeof body?.message !== 'string') {
      failures.push(`${what}: body is not the contract's error shape: ${a.body.slice(0, 80)}`)
    }
    if (a.ms > ANSWER_WITHIN_MS) failures.push(`${what}: answered after ${Math.round(a.ms)} ms`)
    if (c.email !== undefined && a.status !== 201) {
      const stored = await redis.client.exists(`${redis.prefix}email:${normaliseEmail(c.email)}`)
      if (stored) failures.push(`${what}: refused (${a.status}) but an account exists for ${JSON.stringify(c.email)}`)
    }
  }
  for (const [category, byStatus] of counts) {
    t.comment(`${category}: ${[...byStatus].map(([status, n]) => `${n} × ${status}`).join(', ')}`)
  }
  t.same(failures, [], `${cases.length} hostile requests: every one a JSON 4xx within ${ANSWER_WITHIN_MS} ms`)
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the gateway still answers afterwards')
})
