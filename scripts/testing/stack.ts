/**
 * What tests that run the stack as processes share (the failure drills, the browser e2e).
 * - Ports and env: one free port per process, as the *_PORT variables npm start reads.
 * - Limits: generous, so a test measures what it means to and never meets a 429.
 * - A user: registered through the gateway in body mode, with the one test PASSWORD.
 * - Waiting: until a URL answers 200, failing early when the process under test is gone.
 */
import { call } from './node-process.js'
import { freePort } from './ports.js'
import { waitFor } from './wait.js'

/** The password of every test user (long enough for the auth service's policy). */
export const PASSWORD = 'correct horse battery'

/** Generous limits: tests of whole stacks measure failure behaviour, not rate limiting. */
export const NO_RATE_LIMITS: Readonly<Record<string, string>> = Object.freeze({
  RATE_LIMIT_AUTH: '100000',
  RATE_LIMIT_API: '100000',
  RATE_LIMIT_NOT_FOUND: '100000',
})

export const STACK_PROCESSES = ['gateway', 'auth', 'orders', 'users', 'payments', 'web'] as const
export type StackProcess = typeof STACK_PROCESSES[number]
export type StackPorts = Record<StackProcess, number>

/** A free loopback port for every process of the stack. */
export async function stackPorts (): Promise<StackPorts> {
  const ports = await Promise.all(STACK_PROCESSES.map(() => freePort()))
  return Object.fromEntries(STACK_PROCESSES.map((name, i) => [name, ports[i]])) as StackPorts
}

/** The env that puts each process on its port: GATEWAY_PORT, AUTH_PORT, ORDERS_PORT, ... */
export function portEnv (ports: StackPorts): Record<string, string> {
  return Object.fromEntries(STACK_PROCESSES.map((name) => [`${name.toUpperCase()}_PORT`, String(ports[name])]))
}

export const localUrl = (port: number): string => `http://127.0.0.1:${port}`

export interface WaitForOkOptions {
  timeoutMs: number
  /** Named in the timeout error. */
  what?: string
  /** Polled too: once it says the process is gone, waiting fails at once with its reason. */
  gone?: () => string | undefined
  everyMs?: number
}

/** Resolves once `url` answers 200. */
export async function waitForOk (url: string, opts: WaitForOkOptions): Promise<void> {
  let reason: string | undefined
  const ok = async () => {
    reason = opts.gone?.()
    if (reason !== undefined) return true
    return (await call(url, { signal: AbortSignal.timeout(1000) })).status === 200
  }
  await waitFor(ok, opts.timeoutMs, opts.what ?? `${url} to answer 200`, opts.everyMs ?? 20)
  if (reason !== undefined) throw new Error(reason)
}

export interface Session { accessToken: string, refreshToken: string, email: string, userId: string }

/** Registers a user through `base` (the gateway) in body mode: tokens come back in the body. */
export async function registerUser (base: string, tag = 'drill'): Promise<Session> {
  const email = `${tag}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.test`
  const res = await call(`${base}/auth/register`, jsonPost({ email, password: PASSWORD, tokenDelivery: 'body' }))
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${JSON.stringify(res.json)}`)
  return { accessToken: res.json.accessToken, refreshToken: res.json.refreshToken, email, userId: res.json.user.id }
}

export const jsonPost = (body: unknown, headers: Record<string, string> = {}): RequestInit =>
  ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

export const withBearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })
