/**
 * `npm run bench -- --scaling`: GATEWAY_WORKERS scaling, with the gateway as npm start runs it
 * (dist/gateway/server.js: the node:cluster primary and its workers, ops/cluster.ts), warm
 * tokens, access log on. The load generator and the upstream stay on core 1 (index.ts).
 *
 * - `scalingCases` plans the runs for the machine: 1 worker on core 0; 2 workers on core 0
 *   alone (the same CPU: what the cluster itself costs per request); 2 workers on two cores,
 *   core 2 when there is one, else core 1, shared with the load generator and the upstream
 * - per case, in turns of 1 s slices like the targets: requests, the CPU time of the primary
 *   and its workers (/proc), every core's busy share (/proc/stat, other tenants included), and
 *   the CPU time of the load generator (this process) and of the upstream, so the table says
 *   what a second worker had to share
 */
import type { ChildProcess } from 'node:child_process'
import { cpuUsage } from 'node:process'
import { freePort } from '../local-redis/ports.js'
import {
  addCoreTimes, busyShares, combineSlices, coreTimes, cpuSeconds, processTree, runLoad, treeContextSwitches,
  treeCpuSeconds, treeRssMb, type LoadOptions, type LoadResult,
} from './bench-lib.js'
import { waitReady, type Runner } from './runner.js'

export interface ScalingCase { name: string, workers: number, cpus: string, note: string }

/** The runs for a machine with `cores` cores; the load generator and upstream are on core 1. */
export function scalingCases (cores: number, pinned: boolean): ScalingCase[] {
  if (!pinned) {
    return [
      { name: '1 worker', workers: 1, cpus: '', note: 'not pinned (taskset missing or 1 core)' },
      { name: '2 workers', workers: 2, cpus: '', note: 'not pinned (taskset missing or 1 core)' },
    ]
  }
  const second = cores >= 3 ? '2' : '1'
  return [
    { name: '1 worker', workers: 1, cpus: '0', note: 'core 0' },
    { name: '2 workers, 1 core', workers: 2, cpus: '0', note: 'both on core 0: the cluster\'s own cost' },
    {
      name: '2 workers, 2 cores',
      workers: 2,
      cpus: `0,${second}`,
      note: second === '1'
        ? 'cores 0 and 1: core 1 shared with the load generator and the upstream (2 cores only)'
        : 'cores 0 and 2: the load generator and the upstream alone on core 1',
    },
  ]
}

export interface ScalingResult extends ScalingCase {
  load: LoadResult
  cpuS: number
  processes: number
  rssMb: number | null
  /** Busy share of each core over the slices (index = core). */
  coreBusy: number[]
  /** Context switches of the main threads of the primary and its workers, per request. */
  switchesPerRequest: number
  /** Of cpuS, the primary's own (it only accepts and hands out connections). */
  primaryCpuS: number
  loadGeneratorCpuS: number
  upstreamCpuS: number
  /** Requests and CPU seconds of each round's slice. */
  rounds: Array<{ total: number, cpuS: number }>
}

export interface ScalingOptions {
  runner: Runner
  cases: ScalingCase[]
  serverFile: string
  env: Record<string, string>
  upstream: ChildProcess
  connections: number
  duration: number
  /** Sets each connection's headers (a warm token). */
  setupClient: NonNullable<LoadOptions['setupClient']>
}

interface Running {
  c: ScalingCase,
  child: ChildProcess,
  url: string,
  slices: LoadResult[],
  cpuS: number,
  sliceCpuS: number[],
  primaryS: number,
  switches: number,
  busy: Array<[number, number]>,
  loadS: number,
  upS: number,
}

/** Starts the server with GATEWAY_WORKERS=n; resolves once every worker listens. */
async function startServer (o: ScalingOptions, c: ScalingCase): Promise<Running> {
  const port = await freePort()
  const env = { ...o.env, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port), GATEWAY_WORKERS: String(c.workers) }
  const child = o.runner.startNode(o.serverFile, { core: c.cpus || '0', env, stdout: 'pipe' })
  // The log goes to stdout: read (and dropped) so the pipe never fills; the primary's line
  // "gateway ready at URL (N workers)" says every worker listens (before, round-robin would
  // give every connection of a slice to the first worker).
  const ready = new Promise<void>((resolve, reject) => {
    let seen = ''
    const onData = (d: Buffer) => {
      seen = (seen + String(d)).slice(-2000)
      if (c.workers === 1 ? /ready at/.test(seen) : /ready at \S+ \(\d+ workers\)/.test(seen)) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`gateway (${c.name}) exited ${code} before it was ready`)))
  })
  await ready
  const url = `http://127.0.0.1:${port}`
  await waitReady(url)
  return { c, child, url, slices: [], cpuS: 0, sliceCpuS: [], primaryS: 0, switches: 0, busy: [], loadS: 0, upS: 0 }
}

export async function runScaling (o: ScalingOptions): Promise<ScalingResult[]> {
  const running: Running[] = []
  try {
    for (const c of o.cases) {
      process.stderr.write(`scaling: starting the gateway, ${c.name} (${c.note})...\n`)
      const r = await startServer(o, c)
      await runLoad({ ...loadOf(o, r), title: `${c.name} warm-up`, duration: 1 }, true)
      running.push(r)
    }
    const rounds = Math.max(1, Math.round(o.duration))
    for (let round = 1; round <= rounds; round++) {
      for (const r of running) {
        const pid = r.child.pid as number
        const cpu0 = treeCpuSeconds(pid)
        const own0 = cpuSeconds(pid)
        const switches0 = treeContextSwitches(pid)
        const up0 = cpuSeconds(o.upstream.pid as number)
        const cores0 = coreTimes()
        const self0 = cpuUsage()
        const title = `${r.c.name} (round ${round}/${rounds})`
        r.slices.push(await runLoad({ ...loadOf(o, r), title, duration: o.duration / rounds }, true))
        const self = cpuUsage(self0)
        const cores1 = coreTimes()
        const cpu1 = treeCpuSeconds(pid)
        const own1 = cpuSeconds(pid)
        const switches1 = treeContextSwitches(pid)
        const up1 = cpuSeconds(o.upstream.pid as number)
        r.sliceCpuS.push(cpu0 === null || cpu1 === null ? NaN : cpu1 - cpu0)
        r.cpuS += r.sliceCpuS.at(-1) as number
        r.primaryS += r.c.workers > 1 && own0 !== null && own1 !== null ? own1 - own0 : 0
        r.switches += switches0 === null || switches1 === null ? NaN : switches1 - switches0
        r.upS += up0 === null || up1 === null ? NaN : up1 - up0
        r.loadS += (self.user + self.system) / 1e6
        addCoreTimes(r.busy, cores0, cores1)
      }
    }
    return running.map((r) => ({
      ...r.c,
      load: combineSlices(r.c.name, r.slices),
      cpuS: r.cpuS,
      processes: processTree(r.child.pid as number).length,
      rssMb: treeRssMb(r.child.pid as number),
      coreBusy: busyShares(r.busy),
      switchesPerRequest: r.switches / r.slices.reduce((a, sl) => a + sl.total, 0),
      primaryCpuS: r.primaryS,
      loadGeneratorCpuS: r.loadS,
      upstreamCpuS: r.upS,
      rounds: r.slices.map((sl, i) => ({ total: sl.total, cpuS: r.sliceCpuS[i] as number })),
    }))
  } finally {
    for (const r of running) await o.runner.stopChild(r.child)
  }
}

const loadOf = (o: ScalingOptions, r: Running) =>
  ({ url: `${r.url}/api/orders`, connections: o.connections, setupClient: o.setupClient })
