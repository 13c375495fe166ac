/**
 * `npm run users -- create [--admin] EMAIL [--password P] | grant-admin EMAIL | find | sessions |
 * end-sessions | disable | enable EMAIL`: accounts straight in Redis. The commands live in
 * auth-service/src/cli/users.ts.
 */
import { runUsersCli } from '../auth-service/src/cli/users.js'

process.exitCode = await runUsersCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
})
