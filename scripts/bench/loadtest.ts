/**
 * `npm run loadtest [-- --duration 10 --connections 20 --scenarios reads,login]`: drives a
 * RUNNING stack (`npm start`) through the gateway (GATEWAY_URL, default
 * http://127.0.0.1:8080; loopback only) with real users: it registers one user per
 * connection (tokenDelivery body), then runs each scenario for --duration seconds:
 * protected reads, mixed reads and writes, a refresh storm, a login storm, a bogus-token
 * flood, and protected reads during a login storm (the p99 ratio against reads alone is
 * printed). One table (req/s, p50/p90/p99, 2xx, other non-2xx, 429s, errors), a progress
 * line while it runs, raw JSON in bench-results/. The stack's rate limits turn storms into
 * 429s: start it with raised limits (see README "Performance").
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { assertLoopback, fmt, formatTable, parseArgs, positiveNumber, runLoad, type LoadResult } from './bench-lib.js'
import {
  SCENARIOS, SCENARIO_TITLES, bogusOptions, loginOptions, mixedOptions, readsOptions, refreshOptions,
  type LoadUser, type Scenario,
} from './loadtest-scenarios.js'

const RAISED_LIMITS = 'RATE_LIMIT_AUTH=1000000 RATE_LIMIT_API=1000000 npm start'
const root = fileURLToPath(new URL('../../', import.meta.url))

async function main (): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const duration = positiveNumber(args, 'duration', 10)
  const connections = Math.round(positiveNumber(args, 'connections', 20))
  const scenarios = (args.get('scenarios') ?? SCENARIOS.join(',')).split(',')
    .map((s) => s.trim()).filter(Boolean) as Scenario[]
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) {
      throw new Error(
        `unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`
      )
    }
  }
  const base = assertLoopback(process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').origin

  const ready = await fetch(`${base}/readyz`).then((r) => r.status, () => 0)
  if (ready !== 200) {
    console.error(`The gateway at ${base} is not ready (GET /readyz: ${ready || 'no answer'}). ` +
      `Start the stack first, with raised limits:\n  ${RAISED_LIMITS}`)
    return 1
  }

  const userCount = Math.max(connections, 4)
  process.stderr.write(`registering ${userCount} users through ${base}/auth/register...\n`)
  const users = await registerUsers(base, userCount)

  const rows: Array<{ scenario: Scenario, result: LoadResult }> = []
  const url = `${base}/`
  for (const scenario of scenarios) {
    const title = scenario
    if (scenario === 'reads-during-login') {
      const storm = Math.max(2, Math.round(connections / 4))
      const [reads, login] = await Promise.all([
        runLoad({ ...readsOptions(users, connections), url, duration, title: 'reads (during login storm)' }),
        runLoad({ ...loginOptions(users, storm), url, duration, title: 'login storm (background)' }, false),
      ])
      rows.push({ scenario, result: reads })
      rows.push({ scenario: 'login', result: { ...login, title: 'login storm (background of the row above)' } })
      continue
    }
    const options = {
      reads: readsOptions, mixed: mixedOptions, refresh: refreshOptions, login: loginOptions, bogus: bogusOptions,
    }[scenario](users, connections)
    rows.push({ scenario, result: await runLoad({ ...options, url, duration, title }) })
  }

  const count = (r: LoadResult, pick: (code: number) => boolean) =>
    Object.entries(r.statusCodes).filter(([c]) => pick(Number(c))).reduce((a, [, n]) => a + n, 0)
  console.log(`\nloadtest: ${base}, ${duration} s per scenario, ${connections} connections, ${users.length} users`)
  console.log(formatTable(
    ['scenario', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', '2xx', 'non-2xx', 'of which 429', 'errors'],
    rows.map(({ scenario, result: r }) => [
      r.title === scenario && scenario !== 'reads-during-login' ? SCENARIO_TITLES[scenario] : r.title,
      r.requestsPerSecond, r.latency.p50, r.latency.p90, r.latency.p99,
      String(count(r, (c) => c >= 200 && c < 300)), String(count(r, (c) => c < 200 || c >= 300)),
      String(count(r, (c) => c === 429)), String(r.errors),
    ])
  ))

  const alone = rows.find((x) => x.scenario === 'reads')?.result
  const during = rows.find((x) => x.scenario === 'reads-during-login')?.result
  const summary: Record<string, unknown> = {}
  if (alone && during) {
    const ratio = during.latency.p99 / alone.latency.p99
    summary.loginStormP99Ratio = ratio
    console.log(`\nprotected-read p99: alone ${fmt(alone.latency.p99)} ms, ` +
      `during a login storm ${fmt(during.latency.p99)} ms -> ${ratio.toFixed(2)}x (target <= 2x)`)
  }
  const limited = rows.filter(({ result }) => (result.statusCodes['429'] ?? 0) > 0)
  if (limited.length > 0) {
    console.log(`\nWARNING: ${limited.map((x) => x.result.title).join(', ')} got 429 rate_limited answers: ` +
      'the figures measure the rate limiter, not the service.')
    console.log(`Start the stack with raised limits for load tests:\n  ${RAISED_LIMITS}`)
  }
  const bogus = rows.find((x) => x.scenario === 'bogus')?.result
  if (bogus) console.log(bogusVerdict(bogus.statusCodes))

  mkdirSync(`${root}bench-results`, { recursive: true })
  const file = `${root}bench-results/loadtest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
  writeFileSync(
    file,
    JSON.stringify({ base, duration, connections, users: users.length, summary, scenarios: rows }, null, 2)
  )
  console.log(`raw results: ${file.slice(root.length)}`)
  return 0
}

/** Every answer to a bogus token must be a 401: anything else is a finding, not noise. */
function bogusVerdict (statusCodes: Record<string, number>): string {
  const other = Object.entries(statusCodes).filter(([code]) => code !== '401')
  if (other.length === 0) return '(bogus-token flood: its non-2xx are the expected 401s)'
  const answers = other.map(([code, n]) => `${n}x ${code}`).join(', ')
  return `\nWARNING: the bogus-token flood got answers other than 401 (${answers}): bad signatures must be refused.`
}

async function registerUsers (base: string, count: number): Promise<LoadUser[]> {
  const run = randomBytes(4).toString('hex')
  const users: LoadUser[] = []
  let i = 0
  // A few at a time: registration hashes the password (argon2).
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (i < count) {
      const n = i++
      const email = `loadtest-${run}-${n}@example.test`
      const password = `load test password ${run}`
      const res = await fetch(`${base}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password, name: `Load ${n}`, tokenDelivery: 'body' }),
      })
      if (res.status === 429) {
        throw new Error(
          `registration was rate limited (429). Start the stack with raised limits:\n  ${RAISED_LIMITS}`
        )
      }
      if (res.status !== 201) throw new Error(`POST /auth/register answered ${res.status}: ${await res.text()}`)
      const body = await res.json() as { accessToken: string, refreshToken: string }
      users.push({ email, password, accessToken: body.accessToken, refreshToken: body.refreshToken })
    }
  }))
  return users
}

main().then((code) => { process.exitCode = code }, (err: Error) => {
  console.error(err.message)
  process.exitCode = 1
})
