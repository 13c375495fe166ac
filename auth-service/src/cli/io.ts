/**
 * What a CLI command gets from its entry point: the environment and two line printers, so
 * tests run the commands in-process and read what they printed.
 */
import type { Env } from '../../../services/kernel/env.js'

export interface CliIo {
  env: Env
  out: (line: string) => void
  err: (line: string) => void
}
