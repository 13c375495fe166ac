/**
 * A small process supervisor for `npm start`: runs child processes, prefixes their output
 * (`[gateway ] ...`), polls each readiness URL and prints one `ready` line per start,
 * restarts a crashed child with exponential backoff, and stops everything on request.
 * Children run in their own process group (detached), so a terminal Ctrl-C reaches only
 * the supervisor, which then stops them in order: SIGTERM, and SIGKILL after a timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { createInterface } from 'node:readline'
import { formatLogLine } from './log-format.js'

export interface ProcessSpec {
  name: string
  /** Executable; default: this Node (process.execPath). */
  command?: string
  args: string[]
  /** The child's whole environment; default: process.env. */
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Polled until it answers 200; without one, a process is ready once spawned. */
  readyUrl?: string
  /** Names of processes that must be ready before this one is first started. */
  after?: string[]
}

export interface BackoffOptions {
  /** Delay before the first restart. */
  initialMs: number
  /** The delay doubles per crash up to this. */
  maxMs: number
  /** A process that stayed up this long starts again from initialMs. */
  resetAfterMs: number
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, resetAfterMs: 30_000 }
const DEFAULT_STOP_TIMEOUT_MS = 10_000
const DEFAULT_READY_POLL_MS = 250
/** After this long without a 200 from the readiness URL, say so once. */
const SLOW_READY_MS = 30_000

export interface SupervisorOptions {
  backoff?: Partial<BackoffOptions>
  stopTimeoutMs?: number
  readyPollMs?: number
  /** Receives every output line, already prefixed; default: stdout. */
  write?: (line: string) => void
  /** Other names that will be used with log(), so the prefix width fits them too. */
  extraNames?: string[]
}

/** The delay before restart number `failures + 1`. */
export function backoffDelay (failures: number, backoff: BackoffOptions): number {
  return Math.min(backoff.initialMs * 2 ** failures, backoff.maxMs)
}

export function formatPrefix (name: string, width: number): string {
  return `[${name.padEnd(width)}]`
}

interface Deferred { promise: Promise<void>, resolve: () => void }
function deferred (): Deferred {
  let resolve!: () => void
  const promise = new Promise<void>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface ProcState {
  spec: ProcessSpec
  child?: ChildProcess
  exited?: Promise<void>
  startedAt: number
  failures: number
  restarts: number
  restartTimer?: NodeJS.Timeout
  ready: Deferred
}

export interface SupervisorEvents {
  spawn: [name: string, pid: number]
  ready: [name: string]
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly #procs = new Map<string, ProcState>()
  readonly #backoff: BackoffOptions
  readonly #stopTimeoutMs: number
  readonly #readyPollMs: number
  readonly #write: (line: string) => void
  readonly #width: number
  #stopping = false
  #started = false
  readonly #killAllOnExit = () => {
    for (const state of this.#procs.values()) killGroup(state.child, 'SIGKILL')
  }

  constructor (specs: ProcessSpec[], opts: SupervisorOptions = {}) {
    super()
    for (const spec of specs) {
      if (this.#procs.has(spec.name)) throw new Error(`duplicate process name "${spec.name}"`)
      this.#procs.set(spec.name, { spec, startedAt: 0, failures: 0, restarts: 0, ready: deferred() })
    }
    for (const spec of specs) {
      for (const dep of spec.after ?? []) {
        if (!this.#procs.has(dep)) throw new Error(`"${spec.name}" waits for unknown process "${dep}"`)
      }
    }
    this.#backoff = { ...DEFAULT_BACKOFF, ...opts.backoff }
    this.#stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
    this.#readyPollMs = opts.readyPollMs ?? DEFAULT_READY_POLL_MS
    this.#write = opts.write ?? ((line) => { process.stdout.write(line + '\n') })
    this.#width = Math.max(...[...specs.map((s) => s.name), ...(opts.extraNames ?? [])].map((n) => n.length))
  }

  /** Prints `[name] message`, one prefixed line per line of message. */
  log (name: string, message: string): void {
    const prefix = formatPrefix(name, this.#width)
    for (const line of message.split('\n')) this.#write(`${prefix} ${line}`)
  }

  /** Starts every process, each once the processes it waits for (`after`) are ready. */
  start (): void {
    if (this.#started) throw new Error('supervisor already started')
    this.#started = true
    // Last resort if this process dies without stop(): no child may outlive it.
    process.once('exit', this.#killAllOnExit)
    for (const state of this.#procs.values()) {
      const deps = (state.spec.after ?? []).map((name) => this.ready(name))
      Promise.all(deps).then(() => { if (!this.#stopping) this.#spawn(state) }, () => {})
    }
  }

  /** Resolves when the named process (or every process) has first become ready. */
  async ready (name?: string): Promise<void> {
    if (name === undefined) {
      await Promise.all([...this.#procs.values()].map((s) => s.ready.promise))
      return
    }
    const state = this.#procs.get(name)
    if (!state) throw new Error(`unknown process "${name}"`)
    await state.ready.promise
  }

  /** Current pid per process (undefined while it is down or waiting for a restart). */
  pids (): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {}
    for (const [name, state] of this.#procs) out[name] = isRunning(state.child) ? state.child?.pid : undefined
    return out
  }

  /** How many times each process was restarted after a crash. */
  restarts (name: string): number {
    return this.#procs.get(name)?.restarts ?? 0
  }

  /** SIGTERM to every child (its whole process group), SIGKILL after stopTimeoutMs; resolves when all are gone. */
  async stop (): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    await Promise.all([...this.#procs.values()].map(async (state) => {
      clearTimeout(state.restartTimer)
      const { child, exited } = state
      if (!child || !exited || !isRunning(child)) return
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => {
        this.log(state.spec.name, `did not stop within ${this.#stopTimeoutMs} ms, killing`)
        killGroup(child, 'SIGKILL')
      }, this.#stopTimeoutMs)
      await exited
      clearTimeout(timer)
    }))
    process.removeListener('exit', this.#killAllOnExit)
  }

  #spawn (state: ProcState): void {
    const { spec } = state
    const child = spawn(spec.command ?? process.execPath, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    state.child = child
    state.startedAt = Date.now()
    const done = deferred()
    state.exited = done.promise
    let finished = false
    const onEnd = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
      if (finished) return
      finished = true
      done.resolve()
      this.#onExit(state, code, signal, err)
    }
    child.once('error', (err) => onEnd(null, null, err))
    child.once('exit', (code, signal) => onEnd(code, signal))
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.log(spec.name, formatLogLine(line))
      })
    }
    if (child.pid !== undefined) {
      this.log(spec.name, `started pid=${child.pid}: ${[spec.command ?? 'node', ...spec.args].join(' ')}`)
      this.emit('spawn', spec.name, child.pid)
    }
    this.#watchReadiness(state, child).catch(() => {})
  }

  #onExit (state: ProcState, code: number | null, signal: NodeJS.Signals | null, err?: Error): void {
    const { name } = state.spec
    if (this.#stopping) {
      this.log(name, `stopped (${describeExit(code, signal)})`)
      return
    }
    if (Date.now() - state.startedAt >= this.#backoff.resetAfterMs) state.failures = 0
    const delay = backoffDelay(state.failures, this.#backoff)
    state.failures++
    const why = err ? `failed to start: ${err.message}` : `exited (${describeExit(code, signal)})`
    this.log(name, `${why}; restarting in ${delay} ms`)
    state.restartTimer = setTimeout(() => {
      if (this.#stopping) return
      state.restarts++
      this.#spawn(state)
    }, delay)
  }

  /** Polls the readiness URL while this very child runs; one `ready` line when it answers 200. */
  async #watchReadiness (state: ProcState, child: ChildProcess): Promise<void> {
    const { readyUrl, name } = state.spec
    const current = () => state.child === child && isRunning(child) && !this.#stopping
    if (!readyUrl) {
      this.log(name, 'ready')
      this.#markReady(state)
      return
    }
    const since = Date.now()
    let warned = false
    while (current()) {
      if (await answers200(readyUrl)) {
        if (!current()) return
        this.log(name, `ready (${readyUrl})`)
        this.#markReady(state)
        return
      }
      if (!warned && Date.now() - since > SLOW_READY_MS) {
        warned = true
        this.log(name, `not ready after ${SLOW_READY_MS / 1000} s (${readyUrl}), still waiting`)
      }
      await sleep(this.#readyPollMs)
    }
  }

  #markReady (state: ProcState): void {
    state.ready.resolve()
    this.emit('ready', state.spec.name)
  }
}

async function answers200 (url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    await res.body?.cancel()
    return res.status === 200
  } catch {
    return false
  }
}

function isRunning (child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null
}

/** Signals the child's process group (it is a group leader, being detached), so helpers it started go too. */
function killGroup (child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (!isRunning(child) || child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try { child.kill(signal) } catch {}
  }
}

function describeExit (code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${code}`
}
