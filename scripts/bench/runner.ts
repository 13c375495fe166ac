/**
 * The bench's processes: every target, the upstream and the figure scripts run as children
 * pinned to their cores (taskset, when `pin`), watched, and killed at the end; plus the small
 * HTTP helpers the bench waits with. scripts/bench/index.ts makes one runner per run.
 *
 * - a node child runs compiled when given a .js file (the targets: dist/bench/target.js, as npm
 *   start runs the gateway), else under tsx; BENCH_NODE_ARGS adds node flags to every node child
 * - any other program (HAProxy) runs as it is, pinned the same way
 * - a target child answers `{ port }` over IPC once listening (scripts/bench/target.ts)
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import http from 'node:http'

export interface RunnerOptions {
  root: string
  pin: boolean
  /** The target entry and the compiled file run in its place. */
  target: { entry: string, outfile: string }
}

export interface ProcessOptions {
  core: string
  env?: Record<string, string>
  ipc?: boolean
  /** 'pipe': the caller reads stdout (it must, or the child blocks); default 'ignore'. */
  stdout?: 'pipe' | 'ignore'
}

export interface StartedTarget { child: ChildProcess, url: string }

export interface Runner {
  /** Any program, pinned to `core` (a taskset CPU list: "0", "0,2"). */
  startProcess: (argv: string[], opts: ProcessOptions) => ChildProcess
  /** A node script (compiled target, .js, or .ts under tsx). */
  startNode: (file: string, opts: ProcessOptions) => ChildProcess
  /** A target (BENCH_KIND `kind`) on `core`; resolves once it listens. */
  startTarget: (kind: string, core: string, env: Record<string, string>, file?: string) => Promise<StartedTarget>
  stopChild: (child: ChildProcess) => Promise<void>
  stopAll: () => void
}

export function createRunner (opts: RunnerOptions): Runner {
  const children = new Set<ChildProcess>()
  let stopping = false

  function startProcess (argv: string[], p: ProcessOptions): ChildProcess {
    const [bin, ...args] = opts.pin ? ['taskset', '-c', p.core, ...argv] : argv
    const stdio: StdioOptions = ['ignore', p.stdout ?? 'ignore', 'pipe', ...(p.ipc ? ['ipc' as const] : [])]
    const child = spawn(bin as string, args, { cwd: opts.root, env: { ...process.env, ...p.env }, stdio })
    children.add(child)
    child.once('exit', () => children.delete(child))
    let stderr = ''
    child.stderr?.on('data', (d) => { stderr = (stderr + String(d)).slice(-4000) })
    child.once('exit', (code) => {
      if (code && code !== 0 && !stopping) console.error(`${argv.slice(-1)[0]} exited ${code}: ${stderr}`)
    })
    return child
  }

  function startNode (file: string, p: ProcessOptions): ChildProcess {
    // BENCH_NODE_ARGS: extra node flags for the targets, e.g. "--cpu-prof --cpu-prof-dir=prof".
    const run = file === opts.target.entry
      ? [opts.target.outfile]
      : file.endsWith('.js') ? [file] : ['--import', 'tsx', file]
    const flags = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
    return startProcess([process.execPath, ...flags, ...run], p)
  }

  async function startTarget (
    kind: string, core: string, env: Record<string, string>, file = opts.target.entry
  ): Promise<StartedTarget> {
    const child = startNode(file, { core, env: { BENCH_KIND: kind, ...env }, ipc: true })
    const port = await message(child, (m) => typeof m?.port === 'number' ? m.port as number : undefined)
    return { child, url: `http://127.0.0.1:${port}` }
  }

  async function stopChild (child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  function stopAll (): void {
    stopping = true
    for (const c of children) c.kill('SIGKILL')
  }

  return { startProcess, startNode, startTarget, stopChild, stopAll }
}

/** The first IPC message of `child` that `pick` maps to a value. */
export function message<T> (child: ChildProcess, pick: (m: any) => T | undefined, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not answer in time')), timeoutMs)
    const onMessage = (m: unknown) => {
      const v = pick(m)
      if (v !== undefined) { clearTimeout(timer); child.off('message', onMessage); resolve(v) }
    }
    child.on('message', onMessage)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited (${code}) before answering`)) })
  })
}

/** GET `url`; resolves to the status code. */
export async function get (url: string, headers: Record<string, string> = {}, agent?: http.Agent): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { headers, agent },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }
    )
    req.on('error', reject)
  })
}

/** Until `url` answers `status` (30 s at most). */
export async function waitFor (url: string, headers: Record<string, string> = {}, status = 200): Promise<void> {
  const deadline = Date.now() + 30_000
  let last = 0
  while ((last = await get(url, headers).catch(() => 0)) !== status) {
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer ${status} within 30 s (last: ${last || 'no answer'})`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export const waitReady = async (url: string) => await waitFor(`${url}/readyz`)
