/**
 * A tiny demo backend on node:http: no framework, so it costs little when it sits behind the
 * gateway in a benchmark. Used by demo/run.ts, bench/run.ts, the tests and docker compose.
 *
 * Routes (every response carries `x-backend: <name>`):
 * - `GET /health` → 200 `{"status":"ok","name":...}`
 * - `POST`/`PUT` anything → 200 `{"name","method","url","bytes"}`, bytes = request body length
 * - anything else → 200 text `hello from <name>\n`
 * `?delay=MS` (or the `delayMs` option when the query has none) holds the answer back, capped at
 * MAX_DELAY_MS. The body is always read to its end first, so the client's request is complete
 * and the connection stays reusable (keep-alive).
 */
import { realpathSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

export const MAX_DELAY_MS = 60_000
/**
 * Idle keep-alive connections are closed after this. Node's default too, stated on purpose:
 * the gateway's pool `timeouts.idle` (4 s in config/) must stay below it, or the gateway may
 * reuse a socket that this side is closing at that very moment.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000

export interface BackendOptions {
  name: string
  host?: string
  /** 0 picks a free port; read the chosen one from the result. */
  port?: number
  /** Default delay for every answer; `?delay=MS` overrides it per request. */
  delayMs?: number
}

export interface RunningBackend {
  port: number
  /** Stops listening and drops every connection, in-flight ones too: a demo has nothing to drain. */
  close (): Promise<void>
}

/**
 * The delay for one request: `?delay=MS` when it is a non-negative number, else the default;
 * clamped to [0, MAX_DELAY_MS]. Pure, so tests can check the cap without waiting a minute.
 */
export function resolveDelay (url: string, defaultMs: number): number {
  const q = url.indexOf('?')
  const raw = q === -1 ? null : new URLSearchParams(url.slice(q + 1)).get('delay')
  const asked = raw === null || raw === '' ? NaN : Number(raw)
  const ms = Number.isFinite(asked) && asked >= 0 ? asked : defaultMs
  return Math.min(Math.max(ms, 0), MAX_DELAY_MS)
}

function handler (name: string, defaultDelayMs: number) {
  const healthBody = JSON.stringify({ status: 'ok', name })
  const helloBody = `hello from ${name}\n`

  return (req: IncomingMessage, res: ServerResponse): void => {
    let bytes = 0
    // A client that goes away mid-body emits 'error' (ECONNRESET); there is nothing to answer.
    req.on('error', () => {})
    req.on('data', (chunk: Buffer) => { bytes += chunk.length })
    req.on('end', () => {
      const url = req.url ?? '/'
      const method = req.method ?? 'GET'
      const delay = resolveDelay(url, defaultDelayMs)
      const send = (): void => {
        const path = url.split('?', 1)[0]
        let type = 'text/plain; charset=utf-8'
        let body = helloBody
        if (method === 'POST' || method === 'PUT') {
          type = 'application/json'
          body = JSON.stringify({ name, method, url, bytes })
        } else if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
          type = 'application/json'
          body = healthBody
        }
        res.writeHead(200, {
          'content-type': type,
          'content-length': Buffer.byteLength(body),
          'x-backend': name
        })
        res.end(method === 'HEAD' ? undefined : body)
      }
      if (delay === 0) return send()
      const timer = setTimeout(send, delay)
      // The client (or close()) dropped the connection while we waited: forget the answer.
      res.on('close', () => clearTimeout(timer))
    })
  }
}

/** Starts one backend; rejects with the listen error (e.g. code EADDRINUSE) if the port is taken. */
export async function startBackend (opts: BackendOptions): Promise<RunningBackend> {
  const { name, host = '127.0.0.1', port = 0, delayMs = 0 } = opts
  // HTTP keep-alive is node:http's default; only its idle timeout is set here.
  const server: Server = createServer(handler(name, delayMs))
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })

  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}

/** CLI options from argv, with env fallbacks for docker (BACKEND_NAME, PORT, DELAY_MS, HOST). */
export function parseCliOptions (argv: string[], env: NodeJS.ProcessEnv): Required<BackendOptions> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      port: { type: 'string' },
      delay: { type: 'string' },
      host: { type: 'string' }
    },
    strict: true
  })
  const name = values.name ?? env.BACKEND_NAME ?? 'backend'
  const host = values.host ?? env.HOST ?? '127.0.0.1'
  const port = Number(values.port ?? env.PORT ?? 0)
  const delayMs = Number(values.delay ?? env.DELAY_MS ?? 0)
  if (name === '') throw new Error('--name (or BACKEND_NAME) must not be empty')
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port (or PORT) must be an integer from 0 to 65535, got "${values.port ?? env.PORT}"`)
  }
  if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    throw new Error(`--delay (or DELAY_MS) must be a number of ms from 0 to ${MAX_DELAY_MS}, got "${values.delay ?? env.DELAY_MS}"`)
  }
  return { name, host, port, delayMs }
}

async function main (): Promise<void> {
  let opts: Required<BackendOptions>
  try {
    opts = parseCliOptions(process.argv.slice(2), process.env)
  } catch (err) {
    process.stderr.write(`backend: ${(err as Error).message}\n` +
      'usage: node dist/demo/backend.js --name b1 --port 9001 [--delay MS] [--host 0.0.0.0]\n')
    process.exit(2)
  }
  const backend = await startBackend(opts)
  process.stdout.write(JSON.stringify({ msg: 'backend listening', name: opts.name, host: opts.host, port: backend.port, delayMs: opts.delayMs }) + '\n')
  // Explicit handlers matter in docker: as PID 1, node gets no default action for SIGTERM.
  const stop = (): void => { backend.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

/**
 * True when this module is the process entry point rather than imported (tests, demo, bench).
 * argv[1] is realpath'd because the ESM loader resolves symlinks in import.meta.url.
 */
function isEntryPoint (): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  main().catch((err: NodeJS.ErrnoException) => {
    process.stderr.write(`backend: ${err.code === 'EADDRINUSE' ? 'port already in use: ' : ''}${err.message}\n`)
    process.exit(1)
  })
}
