/**
 * `npm run keys -- <init|list|status|rotate|prune>`: manage the signing keys in KEYS_DIR
 * (default: the repo's keys/ folder). The commands live in auth-service/src/keys/cli.ts;
 * see there (or `npm run keys -- help`) and the README's "Key rotation runbook".
 */
import { runKeysCli } from '../auth-service/src/keys/cli.js'

process.exitCode = await runKeysCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
})
