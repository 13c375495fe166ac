/**
 * `npm run bench:refresh`: refreshes per second of the auth service on one core (one
 * process, through app.inject: no network), next to the raw RSA-2048 signing rate of
 * node:crypto measured in the same run, and Redis round trips per refresh (counted on
 * the service's client, cross-checked with the server's EVALSHA/EVAL call counts).
 * Uses a private redis-server and a temporary keys directory; bounded to ~10 s. The last
 * line is the figures as JSON (npm run bench reads it).
 */
import { generateKeyPairSync, sign } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { buildAuthService } from '../../auth-service/src/app.js'
import { loadConfig } from '../../auth-service/src/config.js'
import { loadKeyring } from '../../auth-service/src/keys/keyring.js'
import { createRedisClient } from '../../auth-service/src/redis.js'
import { startRedisServer } from '../local-redis/redis-server.js'

const SIGN_SECONDS = Number(process.env.BENCH_SIGN_SECONDS ?? 2)
const REFRESH_SECONDS = Number(process.env.BENCH_REFRESH_SECONDS ?? 4)
const CHAINS = Number(process.env.BENCH_CONCURRENCY ?? 8)

function rawSignRate (seconds: number): number {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const data = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9')
  let n = 0
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) sign('sha256', data, privateKey)
    n += 20
  }
  return n / seconds
}

async function evalCalls (admin: Redis): Promise<number> {
  const info = await admin.info('commandstats')
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(m[2])
  return calls
}

/** Counts every command the service's client sends (each is one request/response). */
function countCommands (redis: Redis): { count: number } {
  const counter = { count: 0 }
  const send = redis.sendCommand.bind(redis)
  redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    counter.count++
    return send(...args)
  }) as Redis['sendCommand']
  return counter
}

const server = await startRedisServer()
const keysDir = mkdtempSync(join(tmpdir(), 'bench-keys-'))
const redis = createRedisClient(server.url, 5000)
const admin = createRedisClient(server.url, 5000)
try {
  await Promise.all([redis.connect(), admin.connect()])
  const config = loadConfig({ REDIS_URL: server.url, KEYS_DIR: keysDir, LOG_LEVEL: 'silent', LOGIN_MAX_FAILURES: '0' })
  const app = await buildAuthService(config, { redis, keyring: await loadKeyring(keysDir), logger: false })
  await app.ready()

  const res = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email: 'bench@example.test', password: 'bench password 123', tokenDelivery: 'body' },
  })
  const tokens: string[] = [res.json().refreshToken]
  for (let i = 1; i < CHAINS; i++) {
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'bench@example.test', password: 'bench password 123', tokenDelivery: 'body' },
    })
    tokens.push(login.json().refreshToken)
  }
  const refresh = async (i: number) => {
    const r = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: tokens[i] } })
    if (r.statusCode !== 200) throw new Error(`refresh failed: ${r.statusCode} ${r.body}`)
    tokens[i] = r.json().refreshToken
  }
  for (let i = 0; i < CHAINS; i++) await refresh(i) // warm-up (loads the script into Redis)

  console.log(`raw RSA-2048 signing (node:crypto sign, ${SIGN_SECONDS} s)...`)
  const signRate = rawSignRate(SIGN_SECONDS)

  console.log(`refreshing with ${CHAINS} concurrent sessions for ${REFRESH_SECONDS} s...`)
  const counter = countCommands(redis)
  const evalBefore = await evalCalls(admin)
  let done = 0
  const start = performance.now()
  const end = start + REFRESH_SECONDS * 1000
  await Promise.all(Array.from({ length: CHAINS }, async (_, i) => {
    while (performance.now() < end) {
      await refresh(i)
      done++
    }
  }))
  const elapsed = (performance.now() - start) / 1000
  const evalDelta = (await evalCalls(admin)) - evalBefore

  const rate = done / elapsed
  const roundTrips = counter.count / done
  console.log('')
  console.log(`refreshes/s (one core):        ${rate.toFixed(0)}`)
  console.log(`raw RSA-2048 signs/s:          ${signRate.toFixed(0)}`)
  console.log(`refresh / raw sign:            ${(rate / signRate * 100).toFixed(0)} %`)
  console.log(`Redis round trips per refresh: ${roundTrips.toFixed(2)} (client commands: ${counter.count}; ` +
    `server EVALSHA+EVAL: ${(evalDelta / done).toFixed(2)}/refresh; ${done} refreshes)`)
  console.log(
    JSON.stringify({
      refreshesPerS: rate,
      signsPerS: signRate,
      redisRoundTripsPerRefresh: roundTrips,
      evalsPerRefresh: evalDelta / done,
      refreshes: done,
    })
  )
  await app.close()
} finally {
  redis.disconnect()
  admin.disconnect()
  await server.stop({ removeDir: true })
  rmSync(keysDir, { recursive: true, force: true })
}
