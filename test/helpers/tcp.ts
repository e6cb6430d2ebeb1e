/**
 * Layer-4 helpers: raw TCP backends on 127.0.0.1:0, a client that records what it gets, over
 * real `net` sockets, and a gateway with one tcp listener over a tcp:// pool "db" (tcpYaml,
 * startTcpGateway) with accessors for that pool's state. Everything started here is closed in
 * teardown.
 */
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { BackendSnapshot } from '../../lib/pool.js'
import { deadPort, startGateway, type TestGateway } from './gateway.js'
import { within } from './wait.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface TcpBackend {
  name: string
  port: number
  /** tcp://127.0.0.1:PORT, for a pool's backends list. */
  url: string
  /** The backend's id in its pool (host:port, as the config loader makes it). */
  id: string
  server: net.Server
  /** Connections accepted so far. */
  accepted: number
  /** Connections open now (from this backend's side). */
  open: number
  /** Connections on which this backend received a FIN (the gateway ended its side). */
  endsSeen: number
  /** Bytes received, over all connections. */
  bytesIn: number
}

export type TcpHandler = (socket: net.Socket, backend: TcpBackend) => void

const WHOAMI = Buffer.from('whoami\n')

/**
 * The default handler: echoes every byte back unchanged, except that a connection whose first
 * bytes are exactly "whoami\n" gets the backend's name and "\n" instead of those 7 bytes (what
 * follows is echoed). When the peer ends its side, the backend ends its own after the echo.
 * Backpressure is respected, so large transfers work.
 */
export const echoHandler: TcpHandler = (socket, b) => {
  let head: Buffer | undefined = Buffer.alloc(0)
  const write = (chunk: Buffer): void => {
    if (chunk.length > 0 && !socket.write(chunk)) socket.pause()
  }
  socket.on('drain', () => { socket.resume() })
  socket.on('data', (chunk: Buffer) => {
    if (head === undefined) {
      write(chunk)
      return
    }
    head = Buffer.concat([head, chunk])
    if (head.length < WHOAMI.length && WHOAMI.subarray(0, head.length).equals(head)) return // maybe whoami: wait for more
    const all = head
    head = undefined
    if (all.subarray(0, WHOAMI.length).equals(WHOAMI)) {
      write(Buffer.from(`${b.name}\n`))
      write(all.subarray(WHOAMI.length))
    } else {
      write(all)
    }
  })
  socket.on('end', () => {
    if (head !== undefined && head.length > 0) write(head)
    head = undefined
    socket.end()
  })
}

/**
 * A TCP backend on 127.0.0.1:0 (allowHalfOpen, so a handler may answer after the peer's FIN).
 * `handler` defaults to echoHandler.
 */
export async function startTcpBackend (t: Teardown, name: string, handler: TcpHandler = echoHandler): Promise<TcpBackend> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: true })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const b: TcpBackend = { name, port, url: `tcp://127.0.0.1:${port}`, id: `127.0.0.1:${port}`, server, accepted: 0, open: 0, endsSeen: 0, bytesIn: 0 }
  server.on('connection', (socket) => {
    b.accepted++
    b.open++
    sockets.add(socket)
    socket.on('data', (c: Buffer) => { b.bytesIn += c.length })
    socket.on('end', () => { b.endsSeen++ })
    socket.on('error', () => {})
    socket.on('close', () => { b.open--; sockets.delete(socket) })
    handler(socket, b)
  })
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return b
}

export async function startTcpBackends (t: Teardown, n: number): Promise<TcpBackend[]> {
  const list: TcpBackend[] = []
  for (let i = 1; i <= n; i++) list.push(await startTcpBackend(t, `t${i}`))
  return list
}

/** How a client connection ended. */
export interface ClientEnd {
  /** Everything received. */
  data: Buffer
  /** The peer sent a FIN ('end' fired). */
  ended: boolean
  /** The socket closed with an error (e.g. ECONNRESET, ECONNREFUSED); its code, else undefined. */
  error: string | undefined
}

/** One client connection: records what arrives; helpers to wait for bytes and for its end. */
export class TcpClient {
  readonly socket: net.Socket
  private chunks: Buffer[] = []
  private length = 0
  ended = false
  error: string | undefined
  /** Resolves once connected; rejects with the connect error. */
  readonly connected: Promise<void>
  /** Resolves when the socket has closed (never rejects). */
  readonly closed: Promise<ClientEnd>
  private waiters: Array<() => void> = []

  constructor (port: number, opts: { allowHalfOpen?: boolean } = {}) {
    this.socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false })
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => { resolve() })
      this.socket.once('error', reject)
    })
    this.connected.catch(() => {})
    this.socket.on('data', (c: Buffer) => {
      this.chunks.push(c)
      this.length += c.length
      this.wake()
    })
    this.socket.on('end', () => { this.ended = true; this.wake() })
    this.socket.on('error', (err: NodeJS.ErrnoException) => { this.error = err.code ?? err.message })
    this.closed = new Promise((resolve) => {
      this.socket.on('close', () => {
        this.wake()
        resolve({ data: this.data, ended: this.ended, error: this.error })
      })
    })
  }

  /** Everything received so far. */
  get data (): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0] ?? Buffer.alloc(0)
  }

  get text (): string {
    return this.data.toString()
  }

  write (data: string | Buffer): void {
    this.socket.write(data)
  }

  end (data?: string | Buffer): void {
    if (data === undefined) this.socket.end()
    else this.socket.end(data)
  }

  /**
   * Waits until the received text satisfies `done` (default: at least `n` bytes when given a
   * number). Rejects when the connection closes first or after `ms` (a guard against hanging,
   * not a timing assertion).
   */
  async waitFor (done: number | string | ((text: string) => boolean), ms = 5000): Promise<string> {
    const test = typeof done === 'number'
      ? () => this.length >= done
      : typeof done === 'string'
        ? () => this.text.includes(done)
        : () => done(this.text)
    const start = this.length
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`timed out waiting for data; got ${JSON.stringify(this.text.slice(0, 200))}`)) }, ms)
      const check = (): void => {
        if (test()) {
          clearTimeout(timer)
          resolve(this.text)
          return
        }
        if (this.socket.destroyed || this.ended) {
          clearTimeout(timer)
          reject(new Error(`connection ended (error ${this.error ?? 'none'}) after ${this.length - start} new bytes; got ${JSON.stringify(this.text.slice(0, 200))}`))
          return
        }
        this.waiters.push(check)
      }
      check()
    })
  }

  /** Sends data and waits until that many more bytes have come back (for echo backends). */
  async echo (data: string): Promise<string> {
    const before = this.length
    this.write(data)
    await this.waitFor(() => this.length >= before + Buffer.byteLength(data))
    return this.data.subarray(before).toString()
  }

  /** Waits for the socket to close, rejecting after `ms` (a guard against hanging). */
  async waitClosed (ms = 5000): Promise<ClientEnd> {
    let timer: NodeJS.Timeout | undefined
    const guard = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error('the connection was not closed')) }, ms)
    })
    try {
      return await Promise.race([this.closed, guard])
    } finally {
      clearTimeout(timer)
    }
  }

  destroy (): void {
    this.socket.destroy()
  }

  /** Closes with a TCP reset (RST) instead of a FIN. */
  reset (): void {
    this.socket.resetAndDestroy()
  }

  private wake (): void {
    const w = this.waiters
    this.waiters = []
    for (const fn of w) fn()
  }
}

/** A client connected to 127.0.0.1:port, destroyed in teardown. */
export function tcpClient (t: Teardown, port: number, opts: { allowHalfOpen?: boolean } = {}): TcpClient {
  const c = new TcpClient(port, opts)
  t.teardown(() => { c.destroy() })
  return c
}

/**
 * Connects, asks "whoami" and returns the backend's name with the still-open client, so a test
 * can hold connections open.
 */
export async function whoami (t: Teardown, port: number): Promise<{ name: string, client: TcpClient }> {
  const client = tcpClient(t, port)
  client.write('whoami\n')
  const text = await client.waitFor('\n')
  return { name: text.slice(0, text.indexOf('\n')), client }
}

/**
 * One exchange on a fresh connection: writes `data`, ends the client side and collects everything
 * until the connection closes.
 */
export async function exchange (port: number, data: string | Buffer, ms = 10_000): Promise<ClientEnd> {
  const c = new TcpClient(port)
  c.socket.on('connect', () => { c.end(data) })
  try {
    return await c.waitClosed(ms)
  } finally {
    c.destroy()
  }
}

/** Connecting to `port` is refused (ECONNREFUSED), or the connection is closed without data. */
export async function refused (port: number): Promise<ClientEnd> {
  const c = new TcpClient(port)
  try {
    return await c.waitClosed()
  } finally {
    c.destroy()
  }
}

/** The slow backend's child process: an echo server that stops accepting while its loop is blocked. */
const SLOW_BACKEND = `
const net = require('node:net')
const fs = require('node:fs')
const server = net.createServer({ allowHalfOpen: true }, (c) => { c.on('error', () => {}); c.pipe(c) })
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  fs.writeSync(1, server.address().port + '\\n')
  process.stdin.on('data', (d) => {
    fs.writeSync(1, 'blocked\\n')
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(String(d).trim()))
  })
})
`

export interface SlowTcpBackend {
  port: number
  url: string
  id: string
  /**
   * Makes connects to the backend complete late: its process stops accepting for `ms`, and its
   * accept queue is filled, so the kernel drops new SYNs and the connecting side retransmits
   * (about 1 s later). Resolves once the queue is full; false when it could not be filled.
   */
  stall: (ms: number) => Promise<boolean>
}

/**
 * An echo backend in a child process (127.0.0.1:0, listen backlog 1) whose connects can be made
 * to complete late, to catch the gateway between starting a backend connect and finishing it.
 */
export async function startSlowTcpBackend (t: Teardown): Promise<SlowTcpBackend> {
  const { spawn } = await import('node:child_process')
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of Object.keys(env)) if (k === 'NODE_V8_COVERAGE' || k === 'NODE_OPTIONS' || k.startsWith('_TAPJS')) delete env[k]
  const child = spawn(process.execPath, ['-e', SLOW_BACKEND], { env, stdio: ['pipe', 'pipe', 'inherit'] })
  const fillers: net.Socket[] = []
  t.teardown(() => {
    for (const f of fillers) f.destroy()
    child.kill()
  })
  let out = ''
  const waiters: Array<() => void> = []
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    for (const w of waiters.splice(0)) w()
  })
  const lineOf = async (n: number): Promise<string> => {
    while (out.split('\n').length <= n) await new Promise<void>((resolve) => waiters.push(resolve))
    return out.split('\n')[n - 1]!
  }
  const line = async (n: number, what: string): Promise<string> =>
    await within(lineOf(n), { message: `the slow backend printed ${what}`, seen: () => out })
  const port = Number(await line(1, 'its port'))
  const stall = async (ms: number): Promise<boolean> => {
    child.stdin.write(`${ms}\n`)
    await line(2, '"blocked"')
    // backlog 1: two queued connections fill the accept queue; a third SYN is dropped.
    const connectOne = async (): Promise<boolean> => await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      fillers.push(s)
      s.on('error', () => {})
      s.once('connect', () => { resolve(true) })
      setTimeout(() => { resolve(false) }, 100).unref()
    })
    for (let i = 0; i < 4; i++) {
      if (!await connectOne()) return true // a connect that does not complete: the queue is full
    }
    return false
  }
  return { port, url: `tcp://127.0.0.1:${port}`, id: `127.0.0.1:${port}`, stall }
}

interface GwOpts {
  algorithm?: string
  /** Extra lines of the pool, indented by 4 spaces. */
  poolExtra?: string
  /** Extra keys of the tcp listener, e.g. { idleTimeout: '300ms' }. */
  listener?: Record<string, string | number>
  port?: number
}

/** One tcp pool "db" over `backends` and one tcp listener on 127.0.0.1 (port 0 by default). */
export function tcpYaml (backends: Array<{ url: string }>, o: GwOpts = {}): string {
  return `pools:
  db:
    algorithm: ${o.algorithm ?? 'round-robin'}
    backends:
${backends.map((b) => `      - url: ${b.url}\n`).join('')}${o.poolExtra ?? ''}tcp:
${listenerYaml(o.port ?? 0, o.listener)}`
}

/**
 * A tcp listener entry. drainTimeout defaults to 100ms here (not 10s) so that a gateway whose
 * connections are still open at teardown closes quickly when a test fails.
 */
export function listenerYaml (port: number, extra: Record<string, string | number> = {}): string {
  return `  - listen: { host: 127.0.0.1, port: ${port} }
    pool: db
${Object.entries({ drainTimeout: '100ms', ...extra }).map(([k, v]) => `    ${k}: ${v}\n`).join('')}`
}

export interface TcpGateway extends TestGateway { tcpPort: number }

/** startGateway, plus the port of the first tcp listener. */
export async function startTcpGateway (t: Teardown, yaml: string): Promise<TcpGateway> {
  const gw = await startGateway(t, yaml)
  const l = gw.app.tcpListeners.listeners[0]
  if (l === undefined) throw new Error('no tcp listener was bound')
  return { ...gw, tcpPort: l.port }
}

/** A tcp:// backend where nothing listens, with its pool id. */
export async function dead (): Promise<{ url: string, id: string }> {
  const port = await deadPort()
  return { url: `tcp://127.0.0.1:${port}`, id: `127.0.0.1:${port}` }
}

/** Binds a server on a free 127.0.0.1 port (closed in teardown) and returns the port: a port that is taken. */
export async function occupy (t: Teardown): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { s.close() })
  return (s.address() as net.AddressInfo).port
}

/** GET /admin/pools/:pool through the admin server. */
export async function adminPool (app: FastifyInstance, pool = 'db'): Promise<{ backends: BackendSnapshot[] }> {
  const r = await app.adminServer.inject({ method: 'GET', url: `/admin/pools/${pool}` })
  if (r.statusCode !== 200) throw new Error(`GET /admin/pools/${pool} answered ${r.statusCode}: ${r.body}`)
  return r.json()
}

/** The pool "db"'s snapshot of backend `id`; throws when there is none. */
export const snapshotOf = (app: FastifyInstance, id: string): BackendSnapshot => {
  const s = app.pools.get('db')!.snapshot().find((b) => b.id === id)
  if (s === undefined) throw new Error(`no backend ${id}`)
  return s
}

/** Open tcp connections the pool "db" counts, over its backends. */
export const openTcp = (app: FastifyInstance): number => app.pools.get('db')!.snapshot().reduce((n, b) => n + b.tcpConnections, 0)

/** How often each name occurs. */
export const tally = (names: string[]): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const n of names) out[n] = (out[n] ?? 0) + 1
  return out
}

/** Splits "NAME\nREST" as the echo backend answers a connection that began with "whoami\n". */
export const split = (data: Buffer): { name: string, rest: string } => {
  const text = data.toString()
  const nl = text.indexOf('\n')
  return { name: text.slice(0, nl), rest: text.slice(nl + 1) }
}

/**
 * The gateway has started a connect to backend `id` of pool "db" that has not completed: the
 * backend counts one in flight and no open connection.
 */
export const connecting = (app: FastifyInstance, id: string): boolean => snapshotOf(app, id).inFlight === 1 && snapshotOf(app, id).tcpConnections === 0
