/**
 * The web app server's configuration: a demo service's (WEB_HOST, WEB_PORT, LOG_LEVEL, see
 * common/config.ts) plus where the build is (only server.ts passes process.env).
 */
import { fileURLToPath } from 'node:url'
import { loadServiceConfig, type ServiceConfig } from '../../common/config.js'

export { ConfigError } from '../../kernel/env.js'

export const DEFAULT_WEB_PORT = 4104
/** The Vite build output, resolved from this file so the cwd does not matter. */
const DEFAULT_DIST_DIR = fileURLToPath(new URL('../dist', import.meta.url))

export interface WebConfig extends ServiceConfig {
  /** Directory holding index.html and assets/ (the Vite build). */
  distDir: string
}

export function loadConfig (env: NodeJS.ProcessEnv): Readonly<WebConfig> {
  const distDir = env.WEB_DIST_DIR?.trim() || DEFAULT_DIST_DIR
  return Object.freeze({ ...loadServiceConfig(env, 'WEB', DEFAULT_WEB_PORT), distDir })
}
