import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readGatewayManifest } from '../../src/identity-assertion/key-files.js'
import { runGatewayKeysCli } from '../../src/identity-assertion/keys-cli.js'

const dir = mkdtempSync(join(tmpdir(), 'gw-keys-cli-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

async function run (...args: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await runGatewayKeysCli(args, {
    env: { GATEWAY_KEYS_DIR: dir }, out: (l) => out.push(l), err: (l) => err.push(l),
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

t.test('keys --gateway: init, rotate, prune (only old enough, or --force), usage', async (t) => {
  t.match(await run('list'), { code: 0, out: /no gateway keys/ })
  t.match(await run('init'), { code: 0, out: /active[\s\S]*next/ })
  const first = (await readGatewayManifest(dir))!
  const rotated = await run('rotate')
  t.equal(rotated.code, 0)
  const after = (await readGatewayManifest(dir))!
  t.equal(after.keys.find((k) => k.state === 'active')!.kid, first.keys.find((k) => k.state === 'next')!.kid)
  t.equal(after.keys.find((k) => k.state === 'retiring')!.kid, first.keys.find((k) => k.state === 'active')!.kid)
  t.match(await run('prune'), { code: 0, out: /nothing to prune/ }, 'retired just now: kept (default 65 s)')
  t.equal((await readGatewayManifest(dir))!.keys.length, 3, 'nothing changed')
  t.match(await run('prune', '--force'), { code: 0, out: /pruned / })
  t.same((await readGatewayManifest(dir))!.keys.map((k) => k.state), ['active', 'next'])
  const bad = await run('bogus')
  t.equal(bad.code, 2)
  t.match(bad.err, /usage: npm run keys/)
  const badAge = await run('prune', '--older-than', 'soon')
  t.equal(badAge.code, 2)
  t.match(badAge.err, /--older-than needs seconds/)
})
