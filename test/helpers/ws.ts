/**
 * WebSocket helpers: real `ws` backends on 127.0.0.1:0, clients, and what tests read off a
 * gateway's websocket pool. Everything started here is closed in teardown.
 */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { WebSocketServer, WebSocket, type RawData } from 'ws'

type Teardown = { teardown: (fn: () => unknown) => void }

export interface WsBackend {
  name: string
  port: number
  url: string
  server: WebSocketServer
  /** Connections accepted so far. */
  accepted: number
  /** Close codes the backend received from its clients (the gateway or a client through it). */
  closeCodes: number[]
  /** Upgrade request headers, per connection. */
  upgrades: Array<Record<string, string | string[] | undefined>>
}

/**
 * A real `ws` server on 127.0.0.1:0 with permessage-deflate on. It echoes every message as it
 * came (text stays text, binary stays binary), answers "whoami" with its name, and "close:CODE"
 * by closing with that code. It picks the first subprotocol a client offers.
 */
export async function startWsBackend (t: Teardown, name: string): Promise<WsBackend> {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: true,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) => [...protocols][0] ?? false
  })
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  const b: WsBackend = { name, port, url: `http://127.0.0.1:${port}`, server, accepted: 0, closeCodes: [], upgrades: [] }
  server.on('connection', (ws, req) => {
    b.accepted++
    b.upgrades.push(req.headers)
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const text = isBinary ? '' : data.toString()
      if (text === 'whoami') ws.send(name)
      else if (text.startsWith('close:')) ws.close(Number(text.slice(6)), 'bye')
      else ws.send(data, { binary: isBinary })
    })
    ws.on('close', (code) => { b.closeCodes.push(code) })
  })
  t.teardown(async () => {
    for (const c of server.clients) c.terminate()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  })
  return b
}

/** Opens a client WebSocket and waits for it to be open; rejects with the HTTP status if refused. */
export async function openWs (url: string, opts: { protocols?: string[], headers?: Record<string, string>, perMessageDeflate?: boolean } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers, perMessageDeflate: opts.perMessageDeflate ?? true, maxPayload: 64 * 1024 * 1024 })
  return await new Promise((resolve, reject) => {
    ws.once('open', () => { resolve(ws) })
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { reject(Object.assign(new Error(`refused with ${res.statusCode!}`), { status: res.statusCode, body: Buffer.concat(chunks).toString(), headers: res.headers })) })
    })
    ws.once('error', reject)
  })
}

/** The next message on a socket, as text or Buffer (binary). */
export async function nextMessage (ws: WebSocket): Promise<{ data: Buffer, isBinary: boolean }> {
  const [data, isBinary] = await once(ws, 'message') as [RawData, boolean]
  return { data: Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), isBinary }
}

/** Resolves with the close code and reason the client saw. */
export async function closed (ws: WebSocket): Promise<{ code: number, reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) throw new Error('already closed')
  const [code, reason] = await once(ws, 'close') as [number, Buffer]
  return { code, reason: reason.toString() }
}

/** The backend's server-side sockets (one per open connection), oldest first. */
export function serverSockets (b: WsBackend): WebSocket[] {
  return [...b.server.clients]
}

/** Sends `text` and resolves with the text of the next message. */
export async function roundTrip (ws: WebSocket, text: string): Promise<string> {
  const next = nextMessage(ws)
  ws.send(text)
  return (await next).data.toString()
}

/** YAML for one pool "web" over `backends` with a single `websocket: true` route, plus extras. */
export function wsYaml (backends: Array<{ url: string }>, extra = '', poolExtra = ''): string {
  return `pools:\n  web:\n    backends:\n${backends.map((b) => `      - url: ${b.url}\n`).join('')}${poolExtra}` +
    'routes:\n  - { pool: web, websocket: true }\n' + extra
}

/** ws://127.0.0.1:PORT/PATH */
export const wsUrl = (port: number, path = '/'): string => `ws://127.0.0.1:${port}${path}`

/** A backend's id in its pool (host:port, as the config loader makes it). */
export const idOf = (b: { port: number }): string => `127.0.0.1:${b.port}`

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Open proxied WebSockets the pool counts, summed over its backends. */
export const openCount = (app: FastifyInstance, pool = 'web'): number =>
  app.pools.get(pool)!.backends.reduce((n, b) => n + b.websockets, 0)

/** Opens a socket (openWs); at teardown one still open is closed by the client (code 1000). */
export async function open (t: Teardown, url: string, opts?: Parameters<typeof openWs>[1]): Promise<WebSocket> {
  const ws = await openWs(url, opts)
  t.teardown(async () => {
    if (ws.readyState === WebSocket.CLOSED) return
    const done = once(ws, 'close')
    if (ws.readyState === WebSocket.OPEN) ws.close(1000)
    await done
  })
  return ws
}
