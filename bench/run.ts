/**
 * `npm run bench`: req/s and latency straight to a demo backend, then through the gateway.
 *
 *   node dist/bench/run.js [--duration S] [--connections C] [--body BYTES] [--warmup S] [--access-log] [--no-metrics]
 *
 * Starts three demo backends in this process (in a worker thread), writes a temporary config
 * (round-robin over them, quiet logs unless --access-log), spawns dist/server.js on free ports,
 * waits for it to answer, then runs autocannon per target: a warm-up (not counted) and a measured
 * run. Prints a table, the gateway/direct ratio, and a one-line JSON summary last (for notes).
 * Exit code 0 only if every request through the gateway got a 2xx and it stopped with code 0.
 *
 * Bounded: every run has a fixed duration and a watchdog ends the whole bench if it overruns.
 * Cleanup (also on errors and Ctrl-C): stops the gateway child by its PID (SIGTERM, then SIGKILL
 * after SIGKILL_AFTER_MS), closes the backends and removes the temporary directory (kept, with
 * its gateway.log, when the gateway failed).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { createRequire } from 'node:module'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { availableParallelism, constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort } from 'node:worker_threads'
import { startBackend, type RunningBackend } from '../demo/backend.js'
import { startEchoServers, tcpLoad, wsLoad, type EchoServers } from './streams.js'

// autocannon ships no type declarations (and no @types package is installed): this is the part
// of its programmatic API used here. The instance is a thenable with stop().
interface CannonOptions {
  url: string
  connections: number
  duration: number
  method?: string
  body?: Buffer
  headers?: Record<string, string>
}
interface CannonResult {
  requests: { mean: number }
  latency: { p50: number, p99: number }
  non2xx: number
  errors: number
  timeouts: number
  '2xx': number
}
interface CannonInstance extends PromiseLike<CannonResult> { stop (): void }
type Autocannon = (opts: CannonOptions) => CannonInstance
/** Loaded on first use, so the backend worker (which runs this same file) does not load it. */
let autocannon: Autocannon | undefined

const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url))
const HOST = '127.0.0.1'
const READY_TIMEOUT_MS = 15_000
const SIGKILL_AFTER_MS = 10_000
/** Gateway drain time in the temporary config; shorter than SIGKILL_AFTER_MS. */
const SHUTDOWN_TIMEOUT = '5s'

const out = (line = ''): void => { process.stdout.write(line + '\n') }

interface Options { duration: number, connections: number, body: number, warmup: number, accessLog: boolean, metrics: boolean }

const USAGE = `usage: node dist/bench/run.js [--duration S] [--connections C] [--body BYTES] [--warmup S] [--access-log] [--no-metrics]
  --duration S     measured seconds per target, 1-300 (default 10)
  --connections C  concurrent keep-alive connections, 1-1000 (default 64)
  --body BYTES     POST a body of this size instead of GET, 0-16777216 (default 0: GET)
  --warmup S       uncounted seconds per target before measuring, 0-60 (default 2)
  --access-log     run the gateway with log level info and access lines (to a file)
  --no-metrics     run the gateway with metrics.enabled: false (to measure what metrics cost)
`

function intOption (name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  return n
}

function parseOptions (argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      body: { type: 'string' },
      warmup: { type: 'string' },
      'access-log': { type: 'boolean', default: false },
      'no-metrics': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help === true) { process.stdout.write(USAGE); process.exit(0) }
  return {
    duration: intOption('duration', values.duration, 10, 1, 300),
    connections: intOption('connections', values.connections, 64, 1, 1000),
    body: intOption('body', values.body, 0, 0, 16 * 1024 * 1024),
    warmup: intOption('warmup', values.warmup, 2, 0, 60),
    accessLog: values['access-log'] === true,
    metrics: values['no-metrics'] !== true
  }
}

/**
 * The backends run in a worker thread of this process: on the main thread they would share one
 * event loop with autocannon, and the "direct" baseline would measure that loop's limit (about a
 * third of what a backend can do here) rather than the backend's. The worker posts its ports,
 * and closes the backends when told 'close'.
 */
interface BackendGroup { ports: number[], wsPort: number, tcpPort: number, close (): Promise<void> }

function startBackendWorker (): Promise<BackendGroup> {
  const worker = new Worker(new URL(import.meta.url))
  return new Promise((resolve, reject) => {
    worker.once('error', reject)
    worker.once('message', ({ ports, wsPort, tcpPort }: { ports: number[], wsPort: number, tcpPort: number }) => {
      worker.off('error', reject)
      worker.on('error', err => process.stderr.write(`bench: backend worker failed: ${err.message}\n`))
      const exited = new Promise<void>(resolve => worker.once('exit', () => resolve()))
      resolve({ ports, wsPort, tcpPort, close: () => { worker.postMessage('close'); return exited } })
    })
  })
}

/** Worker side: three demo backends, a WebSocket echo server and a TCP echo server on free ports. */
async function backendWorker (): Promise<void> {
  const backends: RunningBackend[] = []
  for (let i = 1; i <= 3; i++) backends.push(await startBackend({ name: `backend-${i}`, host: HOST }))
  const echo: EchoServers = await startEchoServers(HOST)
  parentPort!.once('message', () => {
    void Promise.allSettled([...backends.map(b => b.close()), echo.close()]).then(() => parentPort!.close())
  })
  parentPort!.postMessage({ ports: backends.map(b => b.port), wsPort: echo.wsPort, tcpPort: echo.tcpPort })
}

/** Distinct free ports: all are held open together, then released for the gateway to take. */
async function freePorts (n: number): Promise<number[]> {
  const servers: Server[] = []
  for (let i = 0; i < n; i++) {
    const s = createServer()
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, HOST, resolve) })
    servers.push(s)
  }
  const ports = servers.map(s => (s.address() as AddressInfo).port)
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))))
  return ports
}

function gatewayYaml (port: number, adminPort: number, tcpPort: number, backends: BackendGroup, accessLog: boolean, metrics: boolean): string {
  return [
    '# Written by bench/run.ts for one run; deleted afterwards.',
    `listen: { host: ${HOST}, port: ${port} }`,
    `admin: { host: ${HOST}, port: ${adminPort}, token: "${randomBytes(16).toString('hex')}" }`,
    'pools:',
    '  bench:',
    '    algorithm: round-robin',
    '    backends:',
    ...backends.ports.map(p => `      - url: http://${HOST}:${p}`),
    '  wsbench:',
    `    backends: [{ url: "http://${HOST}:${backends.wsPort}" }]`,
    '  tcpbench:',
    `    backends: [{ url: "tcp://${HOST}:${backends.tcpPort}" }]`,
    'routes:',
    '  - { match: { pathPrefix: /ws }, pool: wsbench, websocket: true }',
    '  - { pool: bench }',
    `tcp: [{ listen: { host: ${HOST}, port: ${tcpPort} }, pool: tcpbench }]`,
    'websocket: { drainTimeout: 1s }',
    accessLog ? 'log: { level: info, access: true }' : 'log: { level: warn, access: false }',
    `metrics: { enabled: ${metrics} }`,
    `shutdown: { timeout: ${SHUTDOWN_TIMEOUT} }`,
    ''
  ].join('\n')
}

/** One GET on a fresh connection (no keep-alive socket left behind), with a time limit. */
function probe (url: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: 1000 }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('probe timed out')))
    req.on('error', reject)
  })
}

/** Resolves once the gateway proxies a GET to a backend; rejects if it exits or stays unready. */
async function waitReady (url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the gateway exited during startup (code ${child.exitCode}, signal ${child.signalCode})`)
    }
    try {
      const res = await probe(url)
      if (res.status === 200 && res.body.startsWith('hello from ')) return
      last = `status ${res.status}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`the gateway did not answer 200 within ${READY_TIMEOUT_MS / 1000} s (last: ${last})`)
}

interface Row { target: string, rps: number, p50: number, p99: number, non2xx: number, errors: number }

/** The run in progress, so cleanup can stop it; `stopping` keeps a new one from starting after that. */
let current: CannonInstance | undefined
let stopping = false
async function load (url: string, opts: Options, seconds: number): Promise<CannonResult> {
  if (stopping) throw new Error('stopped')
  const body = opts.body > 0 ? Buffer.alloc(opts.body, 0x61) : undefined
  autocannon ??= createRequire(import.meta.url)('autocannon') as Autocannon
  current = autocannon({
    url,
    connections: opts.connections,
    duration: seconds,
    ...(body !== undefined && { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
  })
  try {
    return await current
  } finally {
    current = undefined
  }
}

async function measure (target: string, url: string, opts: Options): Promise<Row> {
  if (opts.warmup > 0) {
    out(`  ${target}: warm-up ${opts.warmup} s ...`)
    await load(url, opts, opts.warmup)
  }
  out(`  ${target}: measuring ${opts.duration} s ...`)
  const r = await load(url, opts, opts.duration)
  return { target, rps: r.requests.mean, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts }
}

function table (rows: Row[]): string {
  // autocannon records latency in whole milliseconds: 0 means under 1 ms.
  const ms = (v: number): string => v === 0 ? '<1' : String(v)
  const head = ['target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors']
  const cells = rows.map(r => [r.target, r.rps.toFixed(0), ms(r.p50), ms(r.p99), String(r.non2xx), String(r.errors)])
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map(c => c[i]!.length)))
  const line = (c: string[]): string => '  ' + c.map((v, i) => i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)).join('  ')
  return [line(head), line(widths.map(w => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

/** WebSocket echo round trips and TCP echo throughput, straight to the echo servers and through the gateway. */
async function measureStreams (opts: Options, backends: BackendGroup, port: number, tcpPort: number): Promise<{ websocket: object, tcp: object, errors: number }> {
  const wsConnections = Math.min(opts.connections, 32)
  const tcpConnections = 4
  const run = async <R>(what: string, fn: (s: number) => Promise<R>): Promise<R> => {
    if (stopping) throw new Error('stopped')
    if (opts.warmup > 0) await fn(opts.warmup)
    out(`  ${what}: measuring ${opts.duration} s ...`)
    return await fn(opts.duration)
  }
  const wsDirect = await run('websocket direct', async (s) => await wsLoad(`ws://${HOST}:${backends.wsPort}/ws`, wsConnections, s))
  const wsGateway = await run('websocket gateway', async (s) => await wsLoad(`ws://${HOST}:${port}/ws`, wsConnections, s))
  const tcpDirect = await run('tcp direct', async (s) => await tcpLoad(HOST, backends.tcpPort, tcpConnections, s))
  const tcpGateway = await run('tcp gateway', async (s) => await tcpLoad(HOST, tcpPort, tcpConnections, s))
  out()
  out(`  websocket echo, ${wsConnections} connections, 64 B messages: direct ${wsDirect.messagesPerSecond.toFixed(0)} msg/s, ` +
    `gateway ${wsGateway.messagesPerSecond.toFixed(0)} msg/s (${(wsGateway.messagesPerSecond / wsDirect.messagesPerSecond).toFixed(2)} of direct)`)
  out(`  tcp echo, ${tcpConnections} connections, 64 KiB writes: direct ${tcpDirect.megabytesPerSecond.toFixed(0)} MB/s, ` +
    `gateway ${tcpGateway.megabytesPerSecond.toFixed(0)} MB/s (${(tcpGateway.megabytesPerSecond / tcpDirect.megabytesPerSecond).toFixed(2)} of direct)`)
  const errors = wsGateway.errors + tcpGateway.errors
  if (errors > 0) out(`  warning: ${errors} socket errors through the gateway`)
  return {
    websocket: { connections: wsConnections, direct: Math.round(wsDirect.messagesPerSecond), gateway: Math.round(wsGateway.messagesPerSecond) },
    tcp: { connections: tcpConnections, directMBps: Math.round(tcpDirect.megabytesPerSecond), gatewayMBps: Math.round(tcpGateway.megabytesPerSecond) },
    errors
  }
}

/**
 * SIGTERM to this child only, SIGKILL if it is still there after SIGKILL_AFTER_MS. Resolves with
 * how it ended ("code 0", "signal SIGKILL"), or undefined if it had already exited before.
 */
function stopChild (child: ChildProcess): Promise<string | undefined> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(undefined)
  return new Promise(resolve => {
    const timer = setTimeout(() => child.kill('SIGKILL'), SIGKILL_AFTER_MS)
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve(signal !== null ? `signal ${signal}` : `code ${code}`) })
    child.kill('SIGTERM')
  })
}

async function main (): Promise<number> {
  let opts: Options
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (!existsSync(SERVER)) {
    process.stderr.write(`bench: ${SERVER} not found: build first (npm run build), or use npm run bench.\n`)
    return 1
  }
  const cores = availableParallelism()
  out(`UltraBalancer bench: node ${process.version}, ${cores} CPU core(s), ${opts.connections} connections, ` +
    `${opts.duration} s per target ${opts.warmup > 0 ? `after ${opts.warmup} s warm-up` : 'without warm-up'}, ${opts.body > 0 ? `POST ${opts.body} B bodies` : 'GET, no body'}, ` +
    `gateway access log ${opts.accessLog ? 'on (to a file)' : 'off (level warn)'}, metrics ${opts.metrics ? 'on' : 'off'}`)
  out('Note: autocannon (main thread) and the three backends (one worker thread) run in this process and share the')
  out(`machine's ${cores} core(s) with the gateway process, so absolute numbers understate every side: compare the ratio.`)
  out('"direct" is backend-1 alone, without the gateway; through the gateway, requests go round-robin to all three.')
  out()

  let backends: BackendGroup | undefined
  let child: ChildProcess | undefined
  let dir: string | undefined
  let keepDir = false
  let ready = false
  let cleaning: Promise<void> | undefined
  const cleanup = (): Promise<void> => (cleaning ??= (async () => {
    stopping = true
    current?.stop()
    if (child !== undefined) {
      const how = await stopChild(child)
      if (how !== undefined && how !== 'code 0') { out(`bench: the gateway ended with ${how} (expected code 0 after SIGTERM)`); keepDir = true }
    }
    await backends?.close()
    if (dir !== undefined && !keepDir) rmSync(dir, { recursive: true, force: true })
    if (dir !== undefined && keepDir) out(`bench: kept ${dir} (config and gateway.log)`)
  })())

  // Ctrl-C or SIGTERM: stop the load, then clean up as on any other exit.
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nbench: ${signal}: cleaning up\n`)
    void cleanup().then(() => process.exit(128 + constants.signals[signal]))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // Watchdog: the runs are timed, so only a hang gets here.
  const budgetMs = 2 * (opts.warmup + opts.duration) * 1000 + READY_TIMEOUT_MS + 60_000
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${budgetMs / 1000} s: giving up\n`)
    void cleanup().then(() => process.exit(1))
  }, budgetMs)
  watchdog.unref()

  let code = 1
  try {
    backends = await startBackendWorker()
    const [port, adminPort, tcpPort] = await freePorts(3) as [number, number, number]
    dir = mkdtempSync(join(tmpdir(), 'ultrabalancer-bench-'))
    const config = join(dir, 'gateway.yaml')
    const logFile = join(dir, 'gateway.log')
    writeFileSync(config, gatewayYaml(port, adminPort, tcpPort, backends, opts.accessLog, opts.metrics))
    // The gateway writes its log straight to a file: no pipe through this (busy) process that
    // could apply back-pressure to it mid-run.
    // detached: its own process group, so a terminal Ctrl-C reaches only this process, which
    // then stops the gateway once (two signals would make it skip draining and exit 1).
    const logFd = openSync(logFile, 'w')
    child = spawn(process.execPath, [SERVER, '--config', config], { stdio: ['ignore', logFd, logFd], detached: true })
    closeSync(logFd)
    const started = child
    process.once('exit', () => { if (started.exitCode === null && started.signalCode === null) started.kill('SIGKILL') })
    child.once('error', err => process.stderr.write(`bench: cannot start the gateway: ${err.message}\n`))
    child.once('exit', (exitCode, signal) => {
      if (!ready || stopping) return
      keepDir = true
      process.stderr.write(`bench: the gateway exited during the run (code ${exitCode}, signal ${signal}); see ${logFile}\n`)
    })

    const gatewayUrl = `http://${HOST}:${port}/`
    try {
      await waitReady(gatewayUrl, child)
    } catch (err) {
      keepDir = true
      const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n')
      throw new Error(`${(err as Error).message}\n--- last lines of ${logFile} ---\n${tail}`)
    }
    ready = true
    out(`gateway pid ${child.pid} on ${gatewayUrl}, backends on ports ${backends.ports.join(', ')}`)

    const direct = await measure('direct', `http://${HOST}:${backends.ports[0]}/`, opts)
    const gateway = await measure('gateway', gatewayUrl, opts)
    const ratio = direct.rps > 0 ? gateway.rps / direct.rps : 0

    out()
    out(table([direct, gateway]))
    out()
    out(`  gateway/direct: ${ratio.toFixed(2)} of the req/s; p99 ${gateway.p99 - direct.p99 >= 0 ? '+' : ''}${gateway.p99 - direct.p99} ms`)
    if (gateway.non2xx + gateway.errors > 0) out(`  warning: the gateway run had ${gateway.non2xx} non-2xx answers and ${gateway.errors} errors; see ${logFile}`)
    if (opts.accessLog) out(`  gateway log written during the bench: ${(statSync(logFile).size / 1e6).toFixed(1)} MB`)
    out()
    const streams = await measureStreams(opts, backends, port, tcpPort)
    out()
    out(JSON.stringify({
      bench: 'ultrabalancer',
      node: process.version,
      cores,
      connections: opts.connections,
      duration: opts.duration,
      warmup: opts.warmup,
      body: opts.body,
      accessLog: opts.accessLog,
      metrics: opts.metrics,
      direct,
      gateway,
      ratio: Number(ratio.toFixed(3)),
      ...streams
    }))
    // Failed requests through the gateway make the numbers meaningless: say so in the exit code.
    code = gateway.non2xx + gateway.errors + streams.errors > 0 ? 1 : 0
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`)
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }
  // keepDir: the gateway died or did not stop cleanly on SIGTERM.
  return keepDir ? Math.max(code, 1) : code
}

if (isMainThread) process.exitCode = await main()
else await backendWorker()
