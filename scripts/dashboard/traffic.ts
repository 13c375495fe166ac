/**
 * `npm run dashboard:traffic [-- --duration 180]`: a trickle of the security events that
 * `npm run loadtest` does not make, against a RUNNING stack (GATEWAY_URL, loopback only), so
 * the dashboard's session panels have something to show: failed logins (until the account is
 * throttled), logins, proxied calls, a missing role, refreshes, rotated refresh tokens presented
 * again once the reuse grace is over (the session revoked), logouts (revocations reaching the gateway),
 * and live sockets on GET /api/orders/live: ones that logout or reuse closes (revoked), ones the
 * client closes, upgrades without a token (refused). Bounded by --duration seconds; about two
 * rounds a second.
 */
import { assertLoopback, parseArgs, positiveNumber } from '../bench/bench-lib.js'
import { PASSWORD, jsonPost, registerUser, withBearer } from '../testing/stack.js'
import { call } from '../testing/node-process.js'
import { sleep } from '../testing/wait.js'
import WebSocket from 'ws'

const REUSE_AFTER_MS = 11_000

/** A socket on the orders feed; resolves once open, or with the refusal's HTTP status. */
async function openFeed (base: string, token?: string): Promise<{ socket?: WebSocket, status: number }> {
  const url = `${base.replace(/^http/, 'ws')}/api/orders/live`
  const socket = new WebSocket(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
  return await new Promise((resolve) => {
    socket.once('open', () => resolve({ socket, status: 101 }))
    socket.once('unexpected-response', (_req, res) => { res.resume(); resolve({ status: res.statusCode ?? 0 }) })
    socket.once('error', () => resolve({ status: 0 }))
  })
}

async function main (): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const base = assertLoopback(process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').origin
  const until = Date.now() + positiveNumber(args, 'duration', 180) * 1000
  const victim = await registerUser(base, 'dash-victim')
  const user = await registerUser(base, 'dash-user')
  const counts = new Map<string, number>()
  const rotated: Array<{ token: string, at: number }> = []
  const open = new Set<WebSocket>()
  const note = (what: string, status: number) => {
    const key = `${what} ${status}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const login = async (email: string, password: string) =>
    await call(`${base}/auth/login`, jsonPost({ email, password, tokenDelivery: 'body' }))
  for (let round = 0; Date.now() < until; round++) {
    note('failed login', (await login(victim.email, `${PASSWORD}?`)).status)
    const session = await login(user.email, PASSWORD)
    note('login', session.status)
    if (session.status !== 200) { await sleep(1000); continue }
    const { accessToken, refreshToken } = session.json as { accessToken: string, refreshToken: string }
    note('GET /api/orders', (await call(`${base}/api/orders`, withBearer(accessToken))).status)
    note('DELETE /api/orders/x', (await call(`${base}/api/orders/x`, { ...withBearer(accessToken), method: 'DELETE' }))
      .status)
    if (round % 5 === 0) {
      const feed = await openFeed(base, accessToken)
      feed.socket?.close(1000) // closed by the client
      note('socket without a token', (await openFeed(base)).status)
    }
    const refreshed = await call(`${base}/auth/refresh`, jsonPost({ refreshToken }))
    note('refresh', refreshed.status)
    // Only a token really rotated (not refused with 429) can be reused; this session stays until then.
    if (refreshed.status === 200) {
      // A socket on the new token: the logout below, or the reuse later, closes it (revoked).
      const token = (refreshed.json as { accessToken: string }).accessToken
      const feed = await openFeed(base, token)
      note('socket', feed.status)
      const socket = feed.socket
      if (socket !== undefined) {
        open.add(socket)
        socket.once('close', (code) => { open.delete(socket); note('socket closed', code) })
      }
      if (round % 3 === 0) rotated.push({ token: refreshToken, at: Date.now() })
      else note('logout', (await call(`${base}/auth/logout`, { ...withBearer(token), method: 'POST' })).status)
    }
    // Past REFRESH_REUSE_GRACE (10 s by default), a rotated token presented again is reuse.
    if (rotated.length > 0 && Date.now() - rotated[0]!.at > REUSE_AFTER_MS) {
      note('refresh reuse', (await call(`${base}/auth/refresh`, jsonPost({ refreshToken: rotated.shift()!.token })))
        .status)
    }
    await sleep(400)
  }
  for (const socket of open) socket.close(1000) // the run is over: no socket keeps the process
  for (const [key, n] of [...counts].sort()) console.log(`${key.padEnd(28)} ${n}`)
  return 0
}

main().then((code) => { process.exitCode = code }, (err: Error) => {
  console.error(err.message)
  process.exitCode = 1
})
