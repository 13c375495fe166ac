/**
 * `npm run keys -- <init|list|rotate|prune>`: manage the signing keys in KEYS_DIR
 * (default: the repo's keys/ folder).
 *   init                      active + pre-published next key + secrets.json (idempotent)
 *   list                      kid, state, age
 *   rotate                    next → active, active → retiring, new next
 *   prune [--older-than S] [--force]
 *                             drop retiring keys retired ≥ S seconds ago (default ACCESS_TOKEN_TTL + 60)
 * Running auth services load keys at start: restart them after rotate/prune.
 */
import { resolve } from 'node:path'
import { DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_KEYS_DIR } from '../auth-service/src/config.js'
import { initKeyring } from '../auth-service/src/keys/keyring.js'
import { readManifest } from '../auth-service/src/keys/manifest.js'
import { pruneKeys, rotateKeys } from '../auth-service/src/keys/rotation.js'

const USAGE = 'usage: npm run keys -- <init|list|rotate|prune [--older-than SECONDS] [--force]>'
const dir = resolve(process.env.KEYS_DIR || DEFAULT_KEYS_DIR)
const [command, ...rest] = process.argv.slice(2)

function age (iso: string | undefined): string {
  if (!iso) return '-'
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000)
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86400)}d`
}

async function list (): Promise<void> {
  const manifest = await readManifest(dir)
  if (!manifest) {
    console.log(`no keys in ${dir} (run: npm run keys -- init)`)
    return
  }
  console.log(`keys in ${dir}`)
  console.log(['kid'.padEnd(44), 'state'.padEnd(9), 'age'.padEnd(6), 'in state'].join(' '))
  for (const k of manifest.keys) {
    const since = k.state === 'retiring' ? k.retiredAt : k.state === 'active' ? k.activatedAt : k.createdAt
    console.log([k.kid.padEnd(44), k.state.padEnd(9), age(k.createdAt).padEnd(6), age(since)].join(' '))
  }
}

try {
  if (command === 'init') {
    await initKeyring(dir)
    await list()
  } else if (command === 'list') {
    await list()
  } else if (command === 'rotate') {
    await rotateKeys(dir)
    await list()
  } else if (command === 'prune') {
    const i = rest.indexOf('--older-than')
    const ttl = Number(process.env.ACCESS_TOKEN_TTL || DEFAULT_ACCESS_TOKEN_TTL)
    const minAge = i === -1 ? ttl + 60 : Number(rest[i + 1])
    if (!Number.isFinite(minAge) || minAge < 0) throw new Error(`--older-than needs a number of seconds\n${USAGE}`)
    const { removed } = await pruneKeys(dir, minAge, { force: rest.includes('--force') })
    console.log(removed.length ? `pruned ${removed.map((k) => k.kid).join(', ')}` : 'nothing to prune')
    await list()
  } else {
    console.error(USAGE)
    process.exitCode = 2
  }
} catch (err) {
  console.error((err as Error).message)
  process.exitCode = 1
}
