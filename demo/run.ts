/**
 * `npm run demo`: three demo backends in this process (backend-1..3 on 127.0.0.1:9001-9003,
 * each delayed by env DEMO_DELAY_MS if set), and the gateway as a child process with
 * config/gateway.yaml. Ctrl-C (or SIGTERM) is passed to the gateway once; when it has drained
 * and exited, the backends close and this process exits with the gateway's exit code.
 *
 * Paths are resolved from this file (dist/demo/run.js), not the working directory.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'
import { load } from 'js-yaml'
import { startBackend, type RunningBackend } from './backend.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url))
const CONFIG = fileURLToPath(new URL('../../config/gateway.yaml', import.meta.url))
const HOST = '127.0.0.1'
/** Must match the backends listed in config/gateway.yaml. */
const BACKEND_PORTS = [9001, 9002, 9003]
const READY_TIMEOUT_MS = 15_000

const out = (line: string): void => { process.stdout.write(line + '\n') }
const fail = (line: string): never => { process.stderr.write(`demo: ${line}\n`); process.exit(1) }

/** The gateway's own ports, read from its config so the port check and banner cannot drift from it. */
function gatewayPorts (): { listen: number, admin?: number } {
  const cfg = load(readFileSync(CONFIG, 'utf8')) as { listen?: { port?: number }, admin?: { port?: number } }
  return { listen: cfg.listen?.port ?? 8080, admin: cfg.admin?.port }
}

/** Resolves when nothing listens on host:port (checked by binding it for a moment). */
function portFree (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, HOST, () => probe.close(() => resolve(true)))
  })
}

function accepts (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, HOST)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

function busyMessage (port: number): string {
  return `port ${port} on ${HOST} is already in use (another demo or gateway running?). ` +
    `Stop whatever holds it (e.g. \`ss -ltnp 'sport = :${port}'\` shows it) and try again.`
}

async function main (): Promise<void> {
  if (!existsSync(SERVER)) fail(`${SERVER} not found: build first (npm run build), or use npm run demo.`)
  const delayMs = Number(process.env.DEMO_DELAY_MS ?? 0)
  if (!Number.isFinite(delayMs) || delayMs < 0) fail(`DEMO_DELAY_MS must be a number of ms >= 0, got "${process.env.DEMO_DELAY_MS}"`)

  const ports = gatewayPorts()
  for (const port of [ports.listen, ports.admin]) {
    if (port !== undefined && !(await portFree(port))) fail(busyMessage(port))
  }

  const backends: RunningBackend[] = []
  const closeBackends = (): Promise<unknown> => Promise.allSettled(backends.map(b => b.close()))
  for (const [i, port] of BACKEND_PORTS.entries()) {
    try {
      backends.push(await startBackend({ name: `backend-${i + 1}`, host: HOST, port, delayMs }))
    } catch (err) {
      await closeBackends()
      fail((err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? busyMessage(port) : `backend-${i + 1}: ${(err as Error).message}`)
    }
  }

  // Own process group (detached): a terminal Ctrl-C reaches only this process, which passes it
  // on once. Otherwise the gateway would get SIGINT twice (terminal + us) and treat the second
  // as "exit now" instead of draining. stdin is not passed: the gateway never reads it.
  const child = spawn(process.execPath, [SERVER, '--config', CONFIG], {
    cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], detached: true
  })
  // Don't leave an orphan if this process dies of an uncaught error.
  const killChild = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM') }
  process.on('exit', killChild)

  const exited = new Promise<number>(resolve => {
    child.once('error', err => { process.stderr.write(`demo: cannot start the gateway: ${err.message}\n`); resolve(1) })
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)))
  })

  let signals = 0
  const forward = (signal: NodeJS.Signals): void => {
    signals++
    out(signals === 1
      ? `\ndemo: ${signal}: stopping the gateway (it drains in-flight requests; ${signal === 'SIGINT' ? 'Ctrl-C' : signal} again forces it)`
      : `demo: ${signal} again: forcing the gateway to exit`)
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)

  // Banner once the gateway accepts connections, so it is not buried in its startup log.
  let gatewayDone = false
  void exited.then(() => { gatewayDone = true })
  let up = false
  const deadline = Date.now() + READY_TIMEOUT_MS
  // eslint-disable-next-line no-unmodified-loop-condition -- set by the exit handler above
  while (!gatewayDone && !up && Date.now() < deadline) {
    up = await accepts(ports.listen)
    if (!up) await new Promise(resolve => setTimeout(resolve, 100))
  }
  if (!gatewayDone && !up) {
    process.stderr.write(`demo: the gateway does not accept connections on port ${ports.listen} after ${READY_TIMEOUT_MS / 1000} s; see its log above. Ctrl-C to stop.\n`)
  }
  if (up) {
    out([
      '',
      `  UltraBalancer demo: gateway on http://localhost:${ports.listen}/ in front of ` +
        BACKEND_PORTS.map((p, i) => `backend-${i + 1} (:${p})`).join(', ') +
        (delayMs > 0 ? `, each delayed ${delayMs} ms` : ''),
      `    curl localhost:${ports.listen}/      repeat it to see each backend answer in turn`,
      '  Ctrl-C to stop.',
      ''
    ].join('\n'))
  }

  const code = await exited
  process.off('exit', killChild)
  await closeBackends()
  out(`demo: gateway exited with code ${code}; backends closed.`)
  process.exit(code)
}

main().catch((err: Error) => fail(err.stack ?? err.message))
