/**
 * `npm run keys -- <init|list|status|rotate|prune> [--gateway]`: manage the signing keys in
 * KEYS_DIR (default: the repo's keys/ folder). The commands live in auth-service/src/cli/keys/;
 * see there and the README's "Key rotation runbook". With --gateway, the same commands act on
 * the gateway's own identity-assertion keys (GATEWAY_KEYS_DIR, default keys/gateway:
 * gateway/src/identity-assertion/keys-cli.ts); a plain `init` sets up both.
 */
import { runKeysCli } from '../auth-service/src/cli/keys/index.js'
import { runGatewayKeysCli } from '../gateway/src/identity-assertion/keys-cli.js'

const io = {
  env: process.env,
  out: (line: string) => console.log(line),
  err: (line: string) => console.error(line),
}
const args = process.argv.slice(2)
if (args.includes('--gateway')) {
  process.exitCode = await runGatewayKeysCli(args.filter((a) => a !== '--gateway'), io)
} else {
  process.exitCode = await runKeysCli(args, io)
  if (process.exitCode === 0 && args[0] === 'init') process.exitCode = await runGatewayKeysCli(['init'], io)
}
