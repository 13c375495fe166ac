/**
 * `npm run keys -- <init|list|status|rotate|prune>`: manage the signing keys in KEYS_DIR
 * (default: the repo's keys/ folder). The commands live in auth-service/src/cli/keys/;
 * see there and the README's "Key rotation runbook".
 */
import { runKeysCli } from '../auth-service/src/cli/keys/index.js'

process.exitCode = await runKeysCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
})
