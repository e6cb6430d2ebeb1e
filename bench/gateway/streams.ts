/**
 * The WebSocket and TCP parts of `npm run bench`: echo servers for the backend worker, and the
 * two load loops run from the main thread. Each loop is bounded by its duration.
 *
 * - WebSocket: `connections` clients each send a 64-byte text message and wait for its echo
 *   before sending the next; the figure is echoed messages per second (round trips).
 * - TCP: `connections` clients each keep 64 KiB chunks flowing to an echo server (with
 *   back-pressure) and count the bytes that come back; the figure is MB/s echoed.
 */
import { connect, createServer, type AddressInfo, type Server } from 'node:net'
import { once } from 'node:events'
import { WebSocket, WebSocketServer } from 'ws'

export interface EchoServers { wsPort: number, tcpPort: number, close: () => Promise<void> }

/** A ws echo server (no compression: the bench measures the proxy, not zlib) and a TCP echo server. */
export async function startEchoServers (host: string): Promise<EchoServers> {
  const wss = new WebSocketServer({ host, port: 0, perMessageDeflate: false })
  await once(wss, 'listening')
  wss.on('connection', (ws) => { ws.on('message', (data, isBinary) => { ws.send(data, { binary: isBinary }) }) })
  const tcp: Server = createServer((s) => { s.on('error', () => {}); s.pipe(s) })
  await new Promise<void>((resolve) => { tcp.listen(0, host, resolve) })
  return {
    wsPort: (wss.address() as AddressInfo).port,
    tcpPort: (tcp.address() as AddressInfo).port,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
      await new Promise<void>((resolve) => { tcp.close(() => { resolve() }) })
    }
  }
}

export interface WsResult { messagesPerSecond: number, errors: number }

export async function wsLoad (url: string, connections: number, seconds: number): Promise<WsResult> {
  const payload = 'x'.repeat(64)
  let messages = 0
  let errors = 0
  let running = true
  const clients = await Promise.all(Array.from({ length: connections }, async () => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    await once(ws, 'open')
    ws.on('error', () => { errors++ })
    ws.on('message', () => {
      messages++
      if (running) ws.send(payload)
    })
    return ws
  }))
  const started = performance.now()
  for (const ws of clients) ws.send(payload)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  running = false
  const elapsed = (performance.now() - started) / 1000
  const counted = messages
  await Promise.all(clients.map(async (ws) => {
    const closed = once(ws, 'close')
    ws.close(1000)
    await closed
  }))
  return { messagesPerSecond: counted / elapsed, errors }
}

export interface TcpResult { megabytesPerSecond: number, errors: number }

export async function tcpLoad (host: string, port: number, connections: number, seconds: number): Promise<TcpResult> {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  let received = 0
  let errors = 0
  let running = true
  const sockets = await Promise.all(Array.from({ length: connections }, async () => {
    const s = connect({ host, port, noDelay: true })
    await once(s, 'connect')
    s.on('error', () => { errors++ })
    s.on('data', (d: Buffer) => { received += d.length })
    // Synchronous: `running` (set by the timer below) cannot change during one call.
    const pump = (): void => {
      if (!running) return
      while (s.write(chunk)) { /* until the socket buffer is full */ }
    }
    s.on('drain', pump)
    return { s, pump }
  }))
  const started = performance.now()
  for (const { pump } of sockets) pump()
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  running = false
  const elapsed = (performance.now() - started) / 1000
  const counted = received
  for (const { s } of sockets) s.destroy()
  return { megabytesPerSecond: counted / elapsed / 1e6, errors }
}
