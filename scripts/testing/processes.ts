/**
 * Real processes for tests: start a server entry (`node --import tsx <entry>`), wait for its
 * "ready at <url>" log line, stop it with a signal; poll helpers; liveness of a pid.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const READY = /\bready at (\S+)/

interface Teardown { teardown: (fn: () => unknown) => void }

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface StartNodeOptions {
  name: string
  /** Entry file relative to the repository root, e.g. gateway/src/server.ts. */
  entry: string
  env?: Record<string, string>
  readyTimeoutMs?: number
}

export interface NodeProcess {
  name: string
  child: ChildProcess
  /** The URL from the process's "ready at <url>" line. */
  url: string
  /** Every stdout and stderr line so far. */
  lines: string[]
  /** The lines that are JSON (pino), parsed. */
  logs: () => Array<Record<string, unknown>>
  exited: Promise<Exit>
  running: () => boolean
  /** Sends `signal`, SIGKILL after `killAfterMs`, and resolves with the exit. */
  stop: (signal?: NodeJS.Signals, killAfterMs?: number) => Promise<Exit>
}

export async function startNode (t: Teardown, opts: StartNodeOptions): Promise<NodeProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    LOG_LEVEL: 'info',
    ...opts.env,
  }
  const child = spawn(process.execPath, ['--import', 'tsx', opts.entry], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let onReady: (url: string) => void = () => {}
  const ready = new Promise<string>((resolve) => { onReady = resolve })
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      lines.push(line)
      let msg = line
      try { msg = String(JSON.parse(line).msg ?? '') } catch {}
      const m = READY.exec(msg)
      if (m) onReady(m[1]!)
    })
  }
  const running = () => child.exitCode === null && child.signalCode === null
  t.teardown(async () => {
    if (running()) {
      child.kill('SIGKILL')
      await exited
    }
  })

  const timeoutMs = opts.readyTimeoutMs ?? 30_000
  let timer: NodeJS.Timeout | undefined
  const url = await Promise.race([
    ready,
    exited.then((e) => { throw new Error(`${opts.name} exited (${e.code ?? e.signal}) before ready:\n${lines.slice(-20).join('\n')}`) }),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${opts.name} not ready after ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)), timeoutMs)
    }),
  ]).finally(() => clearTimeout(timer))

  return {
    name: opts.name,
    child,
    url,
    lines,
    logs: () => lines.flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>] } catch { return [] } }),
    exited,
    running,
    async stop (signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 15_000) {
      if (running()) {
        child.kill(signal)
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
        const exit = await exited
        clearTimeout(timer)
        return exit
      }
      return await exited
    },
  }
}

/** Polls `check` until it is true; resolves with the milliseconds it took, or throws after `timeoutMs`. */
export async function waitUntil (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export interface CallResult { status: number, json: any, headers: Headers }

/** fetch that never throws: status 0 when nothing answered (connection refused, timeout). */
export async function call (url: string, init: RequestInit = {}): Promise<CallResult> {
  try {
    const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(10_000) })
    const text = await res.text()
    let json: any = null
    try { json = JSON.parse(text) } catch {}
    return { status: res.status, json, headers: res.headers }
  } catch {
    return { status: 0, json: null, headers: new Headers() }
  }
}

/** True while `pid` runs; an exited process nobody reaped yet (a zombie) counts as gone. */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return !existsSync('/proc/self')
  }
}
