/**
 * Compiles a process entry into one ES module under dist/ (esbuild: TypeScript stripped,
 * the repo's own modules inlined, packages left to node_modules), so the process runs on
 * plain `node`: no TypeScript loader thread (~25 MB of RSS), no source-map work on every
 * stack trace. A .map file is written next to it for `node --enable-source-maps`.
 * `npm start` builds the gateway this way before starting it; `npm run build:gateway` does
 * only that (the Docker image runs the result).
 * @see https://esbuild.github.io/api/#build
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const GATEWAY_BUNDLE = {
  entry: 'gateway/src/server.ts',
  outfile: 'dist/gateway/server.js',
  // A young generation of 8 MB per semi-space instead of 16: the gateway's objects live for one
  // request. ~17 MB less RSS, the same throughput in npm run bench (README, Performance).
  nodeArgs: ['--max-semi-space-size=8'],
} as const

/** Builds `entry` (repo-relative) into `outfile` (repo-relative); resolves to the outfile's absolute path. */
export async function bundle (root: string, entry: string, outfile: string): Promise<string> {
  const out = join(root, outfile)
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  })
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..')
  console.log(`built ${await bundle(root, GATEWAY_BUNDLE.entry, GATEWAY_BUNDLE.outfile)}`)
}
