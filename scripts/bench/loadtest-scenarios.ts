/**
 * The scenarios of `npm run loadtest`, as autocannon options built from the users the
 * loadtest registered: each connection has its own user and access token; the refresh
 * storm keeps a pool of live refresh tokens (each response puts the rotated one back);
 * the bogus flood sends well-formed tokens with a wrong signature (the full verification
 * runs and fails), so it costs the gateway what an attacker can make it pay.
 */
import { randomBytes } from 'node:crypto'
import type autocannon from 'autocannon'

export interface LoadUser { email: string, password: string, accessToken: string, refreshToken: string }

export const SCENARIOS = ['reads', 'mixed', 'refresh', 'login', 'bogus', 'reads-during-login'] as const
export type Scenario = typeof SCENARIOS[number]

/** Row titles; reads-during-login titles its two rows itself. */
export const SCENARIO_TITLES: Record<Exclude<Scenario, 'reads-during-login'>, string> = {
  reads: 'protected reads (GET /api/orders)',
  mixed: 'mixed reads and writes (orders, users/me, payments)',
  refresh: 'refresh storm (POST /auth/refresh, body mode)',
  login: 'login storm (POST /auth/login, argon2)',
  bogus: 'bogus-token flood (bad signatures on /api/orders)',
}

type Options = Omit<autocannon.Options, 'url' | 'duration'>
const JSON_HEADERS = { 'content-type': 'application/json' }

type RequestsOf = (user: LoadUser) => autocannon.Request[]

/** One user per connection, round robin. */
function perConnection (users: LoadUser[], requests: RequestsOf): Pick<Options, 'setupClient'> {
  let next = 0
  return {
    setupClient: (client) => {
      const user = users[(next++) % users.length] as LoadUser
      client.setRequests(requests(user))
    },
  }
}

export function readsOptions (users: LoadUser[], connections: number): Options {
  return {
    connections,
    ...perConnection(
      users,
      (u) => [{ method: 'GET', path: '/api/orders', headers: { authorization: `Bearer ${u.accessToken}` } }]
    ),
  }
}

export function mixedOptions (users: LoadUser[], connections: number): Options {
  return {
    connections,
    ...perConnection(users, (u) => {
      const auth = { authorization: `Bearer ${u.accessToken}` }
      return [
        { method: 'GET', path: '/api/orders', headers: auth },
        {
          method: 'POST',
          path: '/api/orders',
          headers: { ...auth, ...JSON_HEADERS },
          body: JSON.stringify({ item: 'load test item', quantity: 1 }),
        },
        { method: 'GET', path: '/api/users/me', headers: auth },
        { method: 'GET', path: '/api/payments', headers: auth },
      ]
    }),
  }
}

export function refreshOptions (users: LoadUser[], connections: number): Options {
  // Every refresh rotates the token: the response's new one goes back into the pool.
  const pool = users.map((u) => u.refreshToken)
  return {
    connections: Math.min(connections, pool.length),
    requests: [{
      method: 'POST',
      path: '/auth/refresh',
      headers: JSON_HEADERS,
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ refreshToken: pool.shift() ?? 'exhausted.pool' }) }),
      onResponse: (status, body) => {
        if (status !== 200) return
        try {
          const token = (JSON.parse(body) as { refreshToken?: unknown }).refreshToken
          if (typeof token === 'string') pool.push(token)
        } catch {}
      },
    }],
  }
}

export function loginOptions (users: LoadUser[], connections: number): Options {
  let next = 0
  return {
    connections,
    requests: [{
      method: 'POST',
      path: '/auth/login',
      headers: JSON_HEADERS,
      setupRequest: (req) => {
        const u = users[(next++) % users.length] as LoadUser
        return { ...req, body: JSON.stringify({ email: u.email, password: u.password, tokenDelivery: 'body' }) }
      },
    }],
  }
}

export function bogusOptions (users: LoadUser[], connections: number): Options {
  // A real token's header and payload with random signature bytes: passes every pre-check, fails RSA.
  const bogus = users.slice(0, 64).map((u) => {
    const [h, p] = u.accessToken.split('.')
    return `${h}.${p}.${randomBytes(256).toString('base64url')}`
  })
  return {
    connections,
    ...perConnection(
      users,
      () => [{
        method: 'GET',
        path: '/api/orders',
        headers: { authorization: `Bearer ${bogus[Math.floor(Math.random() * bogus.length)]}` },
      }]
    ),
  }
}
