/**
 * HTTP for tests: an echo upstream that returns what it received, and a raw client that
 * can send duplicate headers and odd paths exactly as written.
 */
import http from 'node:http'
import Fastify from 'fastify'
import type { Teardown } from './wait.js'

export interface Echo { url: string, close: () => Promise<void> }

/** Answers every path with what it received; /slow waits 1 s first. */
export async function startEchoUpstream (t: Teardown, name = 'echo'): Promise<Echo> {
  const app = Fastify()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
  app.all('/*', async (request) => {
    if (request.url.startsWith('/slow') || request.url.includes('/slow')) {
      await new Promise((resolve) => setTimeout(
        resolve,
        1000
      ))
    }
    return {
      upstream: name,
      method: request.method,
      url: request.url,
      headers: request.headers,
      rawHeaders: request.raw.rawHeaders,
      body: request.body ?? null,
    }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, close: () => app.close() }
}

export interface Res { status: number, headers: http.IncomingHttpHeaders, text: string, json: any }

/** Raw HTTP request: `headers` is a list of [name, value] pairs, so duplicates and odd names go out as written. */
export async function request (
  base: string,
  path: string,
  opts: { method?: string, headers?: Array<[string, string]>, body?: string } = {}
): Promise<Res> {
  const u = new URL(base)
  // The path goes out exactly as given (no dot-segment normalisation, unlike URL).
  const flat: string[] = ['Host', u.host, 'Connection', 'close']
  for (const [k, v] of opts.headers ?? []) flat.push(k, v)
  if (opts.body !== undefined) flat.push('Content-Length', String(Buffer.byteLength(opts.body)))
  return await new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path,
      method: opts.method ?? 'GET',
      headers: flat,
      agent: false,
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => {
        let json: unknown = null
        try { json = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
      res.on('aborted', () => reject(new Error(`${path}: the answer was cut off`)))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

export const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`]
