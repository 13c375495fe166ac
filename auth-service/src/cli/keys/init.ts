/**
 * `init`: an active key, a pre-published next key and secrets.json (idempotent), then the list.
 */
import { initKeyring } from '../../keys/keyring.js'
import type { KeysCommandContext } from './context.js'
import { showKeys } from './list.js'

export async function init (ctx: KeysCommandContext): Promise<number> {
  await initKeyring(ctx.dir)
  await showKeys(ctx, false)
  return 0
}
