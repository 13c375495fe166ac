/**
 * `npm run keys -- <command>` (scripts/keys.ts is the entry point; tests call runKeysCli).
 * - Commands: init, list | status, rotate, prune (one module each, see COMMANDS).
 * - After rotate/prune a KeysChangedMessage goes out on `${REDIS_PREFIX}keys`: gateways refetch
 *   the JWKS and auth instances reload keys/ at once.
 * - Exit codes: 0 done, 1 refused or failed, 2 usage (bad arguments or environment).
 */
import type { CliIo } from '../io.js'
import { ConfigError, loadKeysCliConfig } from './config.js'
import { createKeysCommandContext, type KeysCommandContext } from './context.js'
import { UsageError } from './format.js'
import { init } from './init.js'
import { status } from './list.js'
import { prune } from './prune.js'
import { rotate } from './rotate.js'

export const USAGE = 'usage: npm run keys -- <init | list | status | rotate [--wait SECONDS] [--force] | ' +
  'prune [--older-than SECONDS] [--force]>'

export type KeysCliIo = CliIo

type Command = (ctx: KeysCommandContext, args: string[]) => Promise<number>

export const COMMANDS: Readonly<Record<string, Command>> = Object.freeze({
  init,
  list: status,
  status,
  rotate,
  prune,
})

export async function runKeysCli (args: string[], io: KeysCliIo): Promise<number> {
  const [name, ...rest] = args
  const command = name === undefined || !Object.hasOwn(COMMANDS, name) ? undefined : COMMANDS[name]
  if (!command) {
    io.err(USAGE)
    return 2
  }
  let ctx: KeysCommandContext | undefined
  try {
    ctx = createKeysCommandContext(loadKeysCliConfig(io.env), io)
    return await command(ctx, rest)
  } catch (err) {
    io.err((err as Error).message)
    const usage = err instanceof UsageError || err instanceof ConfigError
    if (usage) io.err(USAGE)
    return usage ? 2 : 1
  } finally {
    ctx?.close()
  }
}
