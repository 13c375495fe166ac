/**
 * Seeded hostile input for the fuzz tests: the same seed gives the same cases, so a failure
 * can be replayed. Each case is a raw HTTP/1.1 request (bytes on a socket, so header tricks
 * go out as written) with a category for the summary.
 */
import { connect } from 'node:net'

export type FuzzCategory =
  | 'huge-body' | 'truncated-json' | 'deep-nesting' | 'wrong-types' | 'control-chars'
  | 'prototype-keys' | 'header-tricks' | 'bad-email'

export interface FuzzCase {
  category: FuzzCategory
  /** What the case sends, for failure messages. */
  d: string
  method: string
  path: string
  /** Header lines as written (no Host unless the case says so: `host` adds it). */
  headers: Array<[string, string]>
  host: boolean
  body: Buffer
  /** The email a register case tried to create, to check no account exists when it was refused. */
  email?: string
}

/** mulberry32: a small, fast, seedable PRNG. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const AUTH_POSTS = ['/auth/register', '/auth/login', '/auth/refresh', '/auth/logout']
const API = ['/api/orders', '/api/users/me', '/api/payments']
const CONTROL = ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u2028', '\ud800', '\udfff']
const BAD_EMAILS = [
  'us\u0000er@example.com', 'user\u0007@example.com', 'user@example.com\u0000', '<script>alert(1)</script>@x.com',
  'user@example..com', '.user@example.com', 'user.@example.com', 'user\ud800@example.com',
  'user@localhost',
  'a@b@c.com', '@example.com', 'user@-x.com', ' ', '',
]

export function fuzzCases (seed: number, perCategory: number): FuzzCase[] {
  const random = prng(seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  const tag = () => Math.floor(random() * 1e9).toString(36)
  const email = () => `fuzz-${tag()}@example.com`
  const json = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
  const post = (
    category: FuzzCategory, d: string, path: string, body: Buffer, extra: Partial<FuzzCase> = {}
  ): FuzzCase =>
    ({ category, d, method: 'POST', path, headers: [['Content-Type', 'application/json']], host: true, body, ...extra })
  const cases: FuzzCase[] = []
  for (let i = 0; i < perCategory; i++) {
    const path = pick(AUTH_POSTS)
    const size = Math.floor((0.5 + random() * 2.5) * 1024 * 1024)
    const huge = pick([
      json({ email: email(), password: 'x'.repeat(size) }),
      Buffer.alloc(size, 'a'),
      json(`[${'1,'.repeat(size / 2)}1]`),
    ])
    const hugeAt = pick([...AUTH_POSTS, ...API])
    cases.push(post('huge-body', `${(size / 1048576).toFixed(1)} MB`, hugeAt, huge))

    const whole = JSON.stringify({ email: email(), password: 'correct horse battery', name: 'Fuzz' })
    const cut = Math.floor(random() * (whole.length - 1))
    cases.push(post('truncated-json', `${whole.slice(0, cut)}… to ${path}`, path, json(whole.slice(0, cut))))

    const depth = 1000 + Math.floor(random() * 20_000)
    const open = pick(['[', '{"a":'])
    const close = open === '[' ? ']' : '}'
    cases.push(post('deep-nesting', `${depth} × ${open}`, path, json(open.repeat(depth) + '1' + close.repeat(depth))))

    const value = pick<unknown>([123, null, true, [], {}, ['a@b.co'], { $gt: '' }, 1e308, -0, 'x'.repeat(300)])
    const field = pick(['email', 'password', 'name', 'tokenDelivery', 'refreshToken'])
    const body = { email: email(), password: 'correct horse battery', [field]: value }
    const shown = JSON.stringify(value)?.slice(0, 40)
    cases.push(post('wrong-types', `${field}: ${shown}`, path, json(body),
      { email: typeof body.email === 'string' ? body.email : undefined }))

    const ctl = pick(CONTROL)
    const where = pick(['email', 'password', 'name'])
    const withCtl = { email: email(), password: 'correct horse battery', name: 'Fuzz' }
    withCtl[where as keyof typeof withCtl] = `${withCtl[where as keyof typeof withCtl].slice(0, 3)}${ctl}x`
    cases.push(post('control-chars', `U+${ctl.charCodeAt(0).toString(16)} in ${where}`, '/auth/register', json(withCtl),
      { email: withCtl.email }))

    const proto = pick([
      '{"__proto__":{"roles":["admin"]},"email":"E","password":"correct horse battery"}',
      '{"constructor":{"prototype":{"admin":true}},"email":"E","password":"correct horse battery"}',
      '{"email":"E","password":"correct horse battery","__proto__":null}',
    ])
    const protoEmail = email()
    cases.push(post('prototype-keys', proto.slice(0, 40), pick(['/auth/register', '/auth/login']),
      json(proto.replace('"E"', JSON.stringify(protoEmail))), { email: protoEmail }))

    const trickPath = pick(['/auth/login', '/api/orders', '/healthz', '/readyz', '/metrics', '/nope', '/api/nope'])
    const ct: [string, string] = ['Content-Type', 'application/json']
    const none = Buffer.alloc(0)
    const trick = (d: string, method: string, at: string, headers: Array<[string, string]>, body = none) =>
      ({ d, method, path: at, headers, host: true, body })
    const tricks: Array<Omit<FuzzCase, 'category'>> = [
      { ...trick('no Host header', 'GET', trickPath, []), host: false },
      trick('two Content-Type', 'POST', '/auth/login', [ct, ['Content-Type', 'text/plain']], json({ email: email() })),
      trick('text/plain body', 'POST', pick(AUTH_POSTS), [['Content-Type', 'text/plain']], json('email=a')),
      trick('unknown charset', 'POST', '/auth/login', [['Content-Type', 'application/json; charset=ebcdic']],
        json({ email: email() })),
      trick('Content-Length and Transfer-Encoding', 'POST', '/auth/login',
        [ct, ['Transfer-Encoding', 'chunked'], ['Content-Length', '5']], json('0\r\n\r\n')),
      trick('a 6 KiB bearer token', 'GET', pick(API), [['Authorization', `Bearer ${'a'.repeat(6144)}.b.c`]]),
      trick('a bogus token on a write', 'POST', '/api/orders', [['Authorization', 'Bearer x.y.z'], ct],
        json({ item: 'x' })),
      trick('a path with encoded NUL', 'GET', '/api/orders/%00', []),
      trick('a header with a bad name', 'GET', '/healthz', [['X Bad', 'v']]),
    ]
    cases.push({ category: 'header-tricks', ...pick(tricks) })

    const bad = pick(BAD_EMAILS)
    cases.push(post('bad-email', JSON.stringify(bad), '/auth/register',
      json({ email: bad, password: 'correct horse battery' }), { email: bad }))
  }
  return cases
}

/** The request's bytes: request line, headers (Content-Length unless the case sets its own), body. */
export function rawRequest (c: FuzzCase, host: string): Buffer {
  const lines = [`${c.method} ${c.path} HTTP/1.1`]
  if (c.host) lines.push(`Host: ${host}`)
  for (const [name, value] of c.headers) lines.push(`${name}: ${value}`)
  const hasLength = c.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))
  if (!hasLength && (c.body.length > 0 || c.method === 'POST')) lines.push(`Content-Length: ${c.body.length}`)
  lines.push('Connection: close', '', '')
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), c.body])
}

export interface RawAnswer {
  /** 0 when nothing parseable came back. */
  status: number
  headers: Record<string, string>
  body: string
  ms: number
  /** A socket error or the timeout, when there was one. */
  error?: string
}

/** Writes the bytes on a fresh socket and reads the answer until the server closes it or `timeoutMs` passes. */
export async function sendRaw (port: number, bytes: Buffer, timeoutMs: number): Promise<RawAnswer> {
  const started = performance.now()
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let error: string | undefined
    let settled = false
    const finish = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ ...parseAnswer(Buffer.concat(chunks)), ms: performance.now() - started, ...(error && { error }) })
    }
    const timer = setTimeout(() => { error = `no complete answer within ${timeoutMs} ms`; finish() }, timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    // A server that answers early and closes makes the rest of the upload fail: that is fine.
    socket.on('error', (err: NodeJS.ErrnoException) => { if (chunks.length === 0) error = err.code ?? err.message })
    socket.on('close', finish)
    socket.on('end', finish)
    socket.write(bytes)
  })
}

function parseAnswer (raw: Buffer): Omit<RawAnswer, 'ms'> {
  const split = raw.indexOf('\r\n\r\n')
  if (split < 0) return { status: 0, headers: {}, body: '' }
  const [statusLine, ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = raw.subarray(split + 4)
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body)
  return { status, headers, body: body.toString('utf8') }
}

function dechunk (body: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = body.indexOf('\r\n', at)
    if (eol < 0) break
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16)
    if (!(size > 0)) break
    parts.push(body.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}
