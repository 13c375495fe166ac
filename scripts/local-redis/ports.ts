/**
 * Loopback ports for the private Redis servers (npm start, tests), and for any test process.
 * - Here, not in scripts/testing: npm start uses them too, and tooling never imports test helpers.
 * - Tests import them through scripts/testing/ports.ts, their one helper home.
 */
import { createServer } from 'node:net'

/** A port the OS says is free on 127.0.0.1 now (another process may take it before you do). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')))
    })
  })
}

/** True when `port` on 127.0.0.1 can be listened on now. */
export async function portIsFree (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
