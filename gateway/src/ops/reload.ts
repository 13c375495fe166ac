/**
 * Reload: the gateway file followed while the gateway runs. When the file is replaced, or on
 * SIGHUP, it is read and validated again (gateway-file/: the same checks as at start-up), compiled
 * off to the side and swapped in whole (active-config.ts); requests in flight finish on the
 * configuration they started on.
 *
 * - the file's directory is watched, not the file: editors and Kubernetes ConfigMaps replace a
 *   file by rename or by swapping a symlink, which a watch on the file itself loses
 * - directory events settle for `settleMs`, then the file is read; content already seen since the
 *   last reload, or compiling to the version in force, changes nothing, so events of other files in
 *   the directory cost a read and nothing more
 * - SIGHUP always reloads; reloads run one at a time, and a trigger during one runs once after it
 * - an invalid file changes nothing: every problem is logged, `result="failure"` counted
 * - metrics: gateway_config_reloads_total{result}, gateway_config_last_reload_success_timestamp_seconds
 *   (start-up counts as the first success)
 * - with GATEWAY_WORKERS > 1 every worker follows the file itself; the primary passes SIGHUP on
 */
import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { ConfigError, type Env } from '../../../services/kernel/env.js'
import { compileGatewayText } from '../gateway-file/index.js'
import { readGatewayFile } from '../gateway-file/read.js'
import type { GatewayMetrics } from './metrics.js'

export interface ReloadOptions {
  /** The gateway file's path (GATEWAY_CONFIG). */
  path: string
  /** Read at every reload for the file's ${VAR} placeholders. */
  env: Env
  /** Reload on SIGHUP (default true). */
  signal?: boolean
  /** Reload when the file is replaced (default true). */
  watch?: boolean
  /** How long directory events settle before the file is read (default 100 ms). */
  settleMs?: number
}

export type ReloadResult = 'success' | 'failure' | 'unchanged'

declare module 'fastify' {
  interface FastifyInstance {
    /** Reads, validates and applies the gateway file now (what SIGHUP does). */
    reloadGatewayFile: () => Promise<ReloadResult>
  }
}

const DEFAULT_SETTLE_MS = 100

const digest = (text: string) => createHash('sha256').update(text).digest('hex')

export const reloadPlugin = fp(async function reloadPlugin (app, opts: ReloadOptions & { metrics: GatewayMetrics }) {
  const live = app.gatewayConfig
  const registers = [opts.metrics.registry]
  const reloads = new Counter({
    name: 'gateway_config_reloads_total',
    help: 'Gateway file reloads, by result (success: applied; failure: invalid, nothing changed)',
    labelNames: ['result'] as const,
    registers,
  })
  reloads.inc({ result: 'success' }, 0)
  reloads.inc({ result: 'failure' }, 0)
  new Gauge({ // eslint-disable-line no-new
    name: 'gateway_config_last_reload_success_timestamp_seconds',
    help: 'When the gateway file in force was applied (start-up included), Unix seconds',
    registers,
    collect () { this.set(live.appliedAt / 1000) },
  })

  let lastSeen = '' // digest of the last text read (valid or not)
  let running: Promise<ReloadResult> | null = null
  let again: { force: boolean } | null = null

  async function reloadOnce (force: boolean): Promise<ReloadResult> {
    const read = await readGatewayFile(opts.path)
    const text = read.ok ? read.text : ''
    const seen = read.ok ? digest(text) : ''
    if (!force && read.ok && seen === lastSeen) return 'unchanged'
    lastSeen = seen
    try {
      if (!read.ok) throw new ConfigError(`gateway file (${opts.path})`, read.problems)
      const compiled = compileGatewayText(text, opts.path, opts.env)
      if (!compiled.ok) throw new ConfigError(`gateway file (${opts.path})`, compiled.problems)
      const previous = live.current.version
      if (compiled.file.version === previous && !force) return 'unchanged'
      live.swap(live.compile(compiled.file))
      reloads.inc({ result: 'success' })
      const { version, routes } = compiled.file
      app.log.info({ gatewayFile: opts.path, version, previous, routes: routes.length }, 'gateway file reloaded')
      return 'success'
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      reloads.inc({ result: 'failure' })
      const problems = err.problems
      app.log.error({ gatewayFile: opts.path, problems }, 'gateway file reload refused: nothing changed')
      return 'failure'
    }
  }

  function reload (force: boolean): Promise<ReloadResult> {
    if (running !== null) {
      again = { force: force || (again?.force ?? false) }
      return running
    }
    running = reloadOnce(force).finally(() => {
      running = null
      const next = again
      again = null
      if (next !== null) reload(next.force).catch(() => {})
    })
    return running
  }

  app.decorate('reloadGatewayFile', () => reload(true))

  const name = basename(opts.path)
  let watcher: FSWatcher | null = null
  let settle: NodeJS.Timeout | null = null
  const onSignal = () => { reload(true).catch((err: Error) => app.log.error({ err }, 'gateway file reload failed')) }

  app.addHook('onReady', async () => {
    // lastSeen starts empty: the file may have changed since start-up read it (the version check catches a no-op).
    if (opts.signal !== false) process.on('SIGHUP', onSignal)
    if (opts.watch === false) return
    watcher = watch(dirname(opts.path), { persistent: false }, (_event, changed) => {
      // A symlink swap (..data in a ConfigMap) names another entry: any event may be ours.
      if (changed !== null && changed !== name && !changed.startsWith('..')) return
      if (settle) clearTimeout(settle)
      settle = setTimeout(() => {
        settle = null
        reload(false).catch((err: Error) => app.log.error({ err }, 'gateway file reload failed'))
      }, opts.settleMs ?? DEFAULT_SETTLE_MS)
    })
    watcher.on('error', (err) => app.log.warn({ err: err.message }, 'watching the gateway file stopped'))
    // A file replaced between the start-up read and this watcher sent no event the watcher saw:
    // read it once now, before the gateway listens, so no request is served on the older file
    // (the version check makes it a no-op when nothing changed).
    await reload(false)
  })
  app.addHook('onClose', async () => {
    watcher?.close()
    if (settle) clearTimeout(settle)
    process.off('SIGHUP', onSignal)
    await running?.catch(() => {})
  })
}, { name: 'gateway-reload', dependencies: ['gateway-pipeline'] })
