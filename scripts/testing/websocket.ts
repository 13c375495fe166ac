/**
 * WebSockets for tests: an upstream (node:http + ws) that records each handshake and echoes,
 * serves an event stream, and refuses on /refuse; and a client that resolves to the open
 * socket or to the HTTP answer that refused it.
 */
import http from 'node:http'
import WebSocket, { WebSocketServer } from 'ws'
import type { Teardown } from './wait.js'

export interface WsUpstream {
  url: string
  /** The handshake headers and URL of every accepted socket, in order. */
  handshakes: Array<{ url: string, headers: http.IncomingHttpHeaders }>
  /** The upstream side of every accepted socket, in order. */
  sockets: WebSocket[]
  /** Event streams (GET /sse/...) open now. */
  openStreams: () => number
  close: () => Promise<void>
}

/**
 * - upgrade to a path with /refuse: 403 with a JSON body
 * - upgrade elsewhere: accepted (subprotocol 'chat.v2' when offered), every message echoed
 * - GET of a path with /sse: `text/event-stream`, an event every 100 ms until the client goes
 * - any other GET: a small JSON
 */
export async function startWsUpstream (t: Teardown): Promise<WsUpstream> {
  const handshakes: WsUpstream['handshakes'] = []
  const sockets: WebSocket[] = []
  let streams = 0
  const server = http.createServer((req, res) => {
    if (!req.url!.includes('/sse')) {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ url: req.url, headers: req.headers }))
      return
    }
    streams++
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    let n = 0
    const timer = setInterval(() => res.write(`id: ${++n}\ndata: {"n":${n}}\n\n`), 100)
    res.once('close', () => { clearInterval(timer); streams-- })
  })
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => offered.has('chat.v2') ? 'chat.v2' : false,
  })
  server.on('upgrade', (req, socket, head) => {
    if (req.url!.includes('/refuse')) {
      const body = '{"error":"forbidden"}'
      const head = `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${body.length}`
      socket.end(`${head}\r\n\r\n${body}`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      handshakes.push({ url: req.url!, headers: req.headers })
      sockets.push(ws)
      ws.on('message', (data, isBinary) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary })
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    for (const ws of wss.clients) ws.terminate()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  t.teardown(close)
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, handshakes, sockets, openStreams: () => streams, close }
}

export interface Closed { code: number, reason: string, at: number }

export type Opened =
  | { ok: true, ws: WebSocket, closed: Promise<Closed>, protocol: string }
  | { ok: false, status: number, headers: http.IncomingHttpHeaders, body: any }

/** Opens `ws://...` with these headers; resolves once open or refused (never rejects on a refusal). */
export async function openSocket (
  url: string, headers: Record<string, string> = {}, protocols: string[] = []
): Promise<Opened> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols, { headers, perMessageDeflate: false })
  const closed = new Promise<Closed>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() }))
  })
  ws.on('error', () => {})
  return await new Promise<Opened>((resolve, reject) => {
    ws.once('open', () => resolve({ ok: true, ws, closed, protocol: ws.protocol }))
    ws.once('unexpected-response', (_req, res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        let body: unknown = text
        try { body = JSON.parse(text) } catch {}
        resolve({ ok: false, status: res.statusCode!, headers: res.headers, body })
        ws.terminate()
      })
    })
    ws.once('error', reject)
  })
}

/** The next message on `ws`, as text. */
export const nextMessage = async (ws: WebSocket): Promise<string> =>
  await new Promise((resolve) => ws.once('message', (data) => resolve(data.toString())))
