/**
 * The refresh contract: a refresh costs ONE Redis round trip (the rotate script). Counted by
 * Redis itself (MONITOR, which tells a client's commands from those a script runs) on a
 * private redis-server, so no other test's traffic is in the count.
 */
import t from 'tap'
import { startRedisServer } from '../../../scripts/local-redis/redis-server.js'
import { build, refreshBody, session } from '../helper.js'
import { waitFor } from '../../../scripts/testing/wait.js'

t.test('POST /auth/refresh: one Redis command per refresh', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.stop({ removeDir: true }))
  const { app, inspect } = await build(t, {}, { redisUrl: redis.url })
  await waitFor(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200)
  let { refreshToken } = await session(app)
  // Warm-up: the first call of a script may be EVALSHA → NOSCRIPT → EVAL.
  refreshToken = (await refreshBody(app, refreshToken)).json().refreshToken

  const monitor = await inspect.monitor()
  t.teardown(() => monitor.disconnect())
  const sent: string[] = [] // commands from clients; a script's own calls come with source "lua"
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') sent.push(String(args[0]).toLowerCase())
  })
  const refreshes = 10
  for (let i = 0; i < refreshes; i++) {
    const res = await refreshBody(app, refreshToken)
    t.equal(res.statusCode, 200)
    refreshToken = res.json().refreshToken
  }
  await inspect.ping() // MONITOR output is ordered: once PING shows, every refresh's command has
  await waitFor(async () => sent.includes('ping'))
  const commands = sent.filter((c) => c !== 'ping')
  t.comment(`client commands for ${refreshes} refreshes: ${commands.join(' ')}`)
  t.equal(commands.length / refreshes, 1, 'one round trip per refresh')
  t.same([...new Set(commands)], ['evalsha'], 'and it is the rotate script')
})
