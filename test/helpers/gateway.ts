/**
 * Integration helpers: real backends and a real gateway on port 0 (127.0.0.1), closed in
 * teardown. Requests go over real sockets: node:http for ordinary ones (it lets a test send
 * hop-by-hop headers), a raw socket where the bytes on the wire are the point.
 */
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Clock } from '../../lib/health/clock.js'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../app.js'
import { loadConfigText } from '../../lib/config/load.js'
import { createLogger } from '../../lib/logger.js'
import { onLoopback } from './reload-config.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface SeenRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  body: Buffer
}

export interface TestBackend {
  name: string
  port: number
  url: string
  seen: SeenRequest[]
  server: http.Server
}

export type BackendHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void

/** Answers `name` as text with x-backend: name; records every request it got (body included). */
export const nameHandler = (name: string): BackendHandler => (_req, res) => {
  res.setHeader('x-backend', name)
  res.end(name)
}

export async function startBackend (t: Teardown, name: string, handler?: BackendHandler, opts: { collectBody?: boolean } = {}): Promise<TestBackend> {
  const seen: SeenRequest[] = []
  const h = handler ?? nameHandler(name)
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => { if (opts.collectBody !== false) chunks.push(c) })
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body })
      h(req, res, body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { name, port, url: `http://127.0.0.1:${port}`, seen, server }
}

export async function startBackends (t: Teardown, n: number): Promise<TestBackend[]> {
  const list: TestBackend[] = []
  for (let i = 1; i <= n; i++) list.push(await startBackend(t, `b${i}`))
  return list
}

export interface TestGateway {
  app: FastifyInstance
  port: number
  url: string
  logs: Array<Record<string, unknown>>
}

/**
 * What a test may inject into the gateway's pools (lib/pool.ts PoolDeps): a clock, e.g. a
 * FakeClock (helpers/fake-clock.ts), drives breakers, ejections, slow start and the algorithms'
 * `now`; a random source, e.g. seededRandom (helpers/seeded-random.ts), feeds the algorithms and
 * the retry backoff. Active health checks (plugins/health.ts) and connection timers do not read
 * them: they stay on real time.
 */
export interface GatewayDeps {
  clock?: Clock
  random?: () => number
}

/** A gateway built from YAML, every client listener on 127.0.0.1 port 0 (`port`, `url`: the first); its log lines are captured. */
export async function startGateway (t: Teardown, yaml: string, env: NodeJS.ProcessEnv = {}, baseDir?: string, deps: GatewayDeps = {}): Promise<TestGateway> {
  const config = loadConfigText(yaml, { env, source: 'test.yaml', baseDir })
  onLoopback(config)
  const logs: Array<Record<string, unknown>> = []
  const logger = createLogger({ level: 'info' }, { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } })
  const app = await buildApp(config, { logger, pools: { deps } })
  t.teardown(() => app.close())
  await app.ready()
  await app.traffic.listen()
  const port = (app.traffic.server().address() as AddressInfo).port
  return { app, port, url: `${config.listen[0]!.tls !== undefined ? 'https' : 'http'}://127.0.0.1:${port}`, logs }
}

/** YAML for one pool named "web" over the given backends, plus extra top-level YAML. */
export function poolYaml (backends: Array<{ url: string }>, extra = '', poolExtra = ''): string {
  return `pools:\n  web:\n    backends:\n${backends.map((b) => `      - url: ${b.url}\n`).join('')}${poolExtra}${extra}`
}

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  body: Buffer
  text: string
}

/** One request on a fresh connection (no agent pooling between tests). */
export async function send (url: string, opts: { method?: string, path?: string, headers?: http.OutgoingHttpHeaders | string[], body?: Buffer | string } = {}): Promise<Reply> {
  const u = new URL(url)
  return await new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method: opts.method ?? 'GET',
      path: opts.path ?? u.pathname + u.search,
      headers: opts.headers,
      agent: false
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString() })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/**
 * Writes raw bytes and collects everything the gateway sends until it closes the connection
 * (or `idleMs` passes without data). Returns the text and whether the gateway closed.
 */
export async function rawExchange (port: number, data: string | Buffer, idleMs = 2000): Promise<{ text: string, closed: boolean }> {
  return await new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    const arm = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => { sock.destroy(); resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: false }) }, idleMs)
    }
    sock.on('connect', () => { sock.write(data); arm() })
    sock.on('data', (c: Buffer) => { chunks.push(c); arm() })
    sock.on('close', () => { clearTimeout(timer); resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: true }) })
    sock.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'ECONNRESET') reject(err) })
  })
}

/** A port on 127.0.0.1 that refuses connections: bound, then closed. */
export async function deadPort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** http://127.0.0.1:PORT where nothing listens. */
export async function deadUrl (): Promise<string> {
  return `http://127.0.0.1:${await deadPort()}`
}

/** Parses one JSON error body and checks it leaks nothing internal; returns it. */
export function errorBody (text: string): { error: string, message: string } {
  return JSON.parse(text) as { error: string, message: string }
}
