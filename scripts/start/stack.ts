/**
 * The processes of the whole stack, as data: entry file, host/port variables with their
 * defaults (shared decisions), readiness path (/readyz everywhere: the auth service's says
 * keys and Redis, the gateway's keys and revocations), and start order. `npm start` turns this
 * table into supervisor process specs.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_PORT as AUTH_PORT } from '../../auth-service/src/config.js'
import { DEFAULT_PORT as GATEWAY_PORT } from '../../gateway/src/config.js'
import { urlFor } from '../../services/kernel/serve.js'
import { DEFAULT_WEB_PORT } from '../../services/web/src/config.js'
import type { ProcessSpec } from './supervisor.js'
import { GATEWAY_BUNDLE } from './bundle.js'

export interface StackEntry {
  name: string
  /** Repo-relative entry, started as `node --import tsx <entry>` from the repo root. */
  entry: string
  /** Repo-relative compiled file (scripts/start/bundle.ts) started with plain `node` instead; npm start builds it. */
  bundle?: string
  /** Node flags for the compiled file. */
  nodeArgs?: readonly string[]
  hostVar: string
  portVar: string
  defaultPort: number
  readyPath: string
  /** The variable through which the gateway finds this process (set for it from host/port). */
  urlVar?: string
  /** Gets REFRESH_TOKEN_SECRET and CSRF_SECRET; the others never see them. */
  secrets?: boolean
  /** Started only when its entry exists (the web app is optional). */
  optional?: boolean
  after?: string[]
}

// orders, users and payments keep their port literal in their server.ts, which starts the
// service when imported: start-setup.test.ts checks these copies against it.
export const STACK: readonly StackEntry[] = [
  {
    name: 'auth',
    entry: 'auth-service/src/server.ts',
    hostVar: 'AUTH_HOST',
    portVar: 'AUTH_PORT',
    defaultPort: AUTH_PORT,
    readyPath: '/readyz',
    urlVar: 'AUTH_URL',
    secrets: true,
  },
  {
    name: 'orders',
    entry: 'services/orders/src/server.ts',
    hostVar: 'ORDERS_HOST',
    portVar: 'ORDERS_PORT',
    defaultPort: 4101,
    readyPath: '/readyz',
    urlVar: 'ORDERS_URL',
  },
  {
    name: 'users',
    entry: 'services/users/src/server.ts',
    hostVar: 'USERS_HOST',
    portVar: 'USERS_PORT',
    defaultPort: 4102,
    readyPath: '/readyz',
    urlVar: 'USERS_URL',
  },
  {
    name: 'payments',
    entry: 'services/payments/src/server.ts',
    hostVar: 'PAYMENTS_HOST',
    portVar: 'PAYMENTS_PORT',
    defaultPort: 4103,
    readyPath: '/readyz',
    urlVar: 'PAYMENTS_URL',
  },
  {
    name: 'web',
    entry: 'services/web/src/server.ts',
    hostVar: 'WEB_HOST',
    portVar: 'WEB_PORT',
    defaultPort: DEFAULT_WEB_PORT,
    readyPath: '/readyz',
    urlVar: 'WEB_URL',
    optional: true,
  },
  // Last: it fetches the auth service's JWKS to become ready.
  {
    name: 'gateway',
    entry: GATEWAY_BUNDLE.entry,
    bundle: GATEWAY_BUNDLE.outfile,
    nodeArgs: GATEWAY_BUNDLE.nodeArgs,
    hostVar: 'GATEWAY_HOST',
    portVar: 'GATEWAY_PORT',
    defaultPort: GATEWAY_PORT,
    readyPath: '/readyz',
    after: ['auth'],
    secrets: true,
  },
]

const SECRET_VARS = ['REFRESH_TOKEN_SECRET', 'CSRF_SECRET'] as const

/** Where a process listens, as a URL a client on this machine can call (wildcard hosts → loopback). */
export function localUrl (entry: StackEntry, env: NodeJS.ProcessEnv): string {
  let host = env[entry.hostVar] || '127.0.0.1'
  if (host === '0.0.0.0') host = '127.0.0.1'
  if (host === '::') host = '::1'
  const port = env[entry.portVar] || String(entry.defaultPort)
  return urlFor(host, Number(port))
}

/**
 * The environment every child gets: the parent's, plus what start found or made (Redis URL,
 * secrets), plus each upstream URL for the gateway derived from the ports, unless already set
 * (the gateway finds the JWKS from AUTH_URL itself).
 */
export function stackEnv (env: NodeJS.ProcessEnv, extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env }
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined && !out[key]) out[key] = value
  }
  for (const entry of STACK) {
    if (entry.urlVar && !out[entry.urlVar]) out[entry.urlVar] = localUrl(entry, out)
  }
  return out
}

export interface StackPlan {
  specs: ProcessSpec[]
  /** Required entries whose file does not exist (yet). */
  missing: string[]
  gatewayUrl: string
}

function withoutSecrets (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env }
  for (const name of SECRET_VARS) delete out[name]
  return out
}

/** Supervisor specs for the stack; optional entries without a file are left out. */
export function planStack (root: string, env: NodeJS.ProcessEnv): StackPlan {
  const missing: string[] = []
  const specs: ProcessSpec[] = []
  for (const entry of STACK) {
    if (!existsSync(join(root, entry.entry))) {
      if (!entry.optional) missing.push(entry.entry)
      continue
    }
    specs.push({
      name: entry.name,
      args: entry.bundle ? [...entry.nodeArgs ?? [], entry.bundle] : ['--import', 'tsx', entry.entry],
      cwd: root,
      env: entry.secrets ? env : withoutSecrets(env),
      readyUrl: localUrl(entry, env) + entry.readyPath,
      after: entry.after,
    })
  }
  const gateway = STACK.find((e) => e.name === 'gateway')!
  return { specs, missing, gatewayUrl: localUrl(gateway, env) }
}
