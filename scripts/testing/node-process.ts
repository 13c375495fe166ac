/**
 * Real processes for drills: `node --import tsx <entry>` (or node with given arguments, for a
 * compiled file) from the repo root, as `npm start` runs them, with a minimal environment.
 * Waits for the one `... ready at <url>` log line, keeps every output line (for assertions
 * and for printing when something fails), and is SIGKILLed at teardown if the test left it
 * running.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Teardown } from './wait.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface NodeProcess {
  name: string
  child: ChildProcess
  /** The URL from the ready line. */
  url: string
  /** Every stdout/stderr line so far. */
  lines: string[]
  /** Parsed pino lines (the output lines that are JSON). */
  logs: () => Array<Record<string, unknown>>
  exited: Promise<Exit>
  running: () => boolean
  /** Sends `signal` (default SIGTERM) and waits for the exit (SIGKILL after `killAfterMs`). */
  stop: (signal?: NodeJS.Signals, killAfterMs?: number) => Promise<Exit>
}

export type StartNodeOptions = {
  name: string
  env: Record<string, string>
  readyTimeoutMs?: number
} & (
  /** Repo-relative entry file, run as `node --import tsx <entry>`. */
  | { entry: string }
  /** Node's arguments instead (flags, then a repo-relative compiled file). */
  | { args: string[] }
)

const READY = /\bready at (\S+)/

export async function startNode (t: Teardown, opts: StartNodeOptions): Promise<NodeProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    LOG_LEVEL: 'info',
    ...opts.env,
  }
  const args = 'args' in opts ? opts.args : ['--import', 'tsx', opts.entry]
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let onReady: (url: string) => void = () => {}
  const ready = new Promise<string>((resolve) => { onReady = resolve })
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      lines.push(line)
      let msg = line
      try { msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? '') } catch {}
      const m = READY.exec(msg)
      if (m) onReady(m[1] as string)
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
    exited.then((e) => {
      throw new Error(`${opts.name} exited (${e.code ?? e.signal}) before ready:\n${lines.slice(-20).join('\n')}`)
    }),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${opts.name} not ready after ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)),
        timeoutMs
      )
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
    async stop (signal = 'SIGTERM', killAfterMs = 15_000) {
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

export interface CallResult { status: number, json: any, headers: Headers }

/** fetch that never throws: status 0 when nothing answered. */
export async function call (url: string, init: RequestInit = {}): Promise<CallResult> {
  try {
    const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(10_000) })
    const text = await res.text()
    let json: unknown = null
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
