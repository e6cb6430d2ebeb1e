/**
 * The gateway child process of `npm run bench`: start, wait until it proxies, stop.
 *
 * - spawnGateway() runs dist/server.js with the given config, its stdout and stderr straight to
 *   logFile (no pipe through this busy process that could apply back-pressure to it mid-run), in
 *   its own process group (detached: a terminal Ctrl-C reaches only the bench, which then stops
 *   the gateway once; two signals would make it skip draining and exit 1). If the bench process
 *   exits with the child still running, the child gets SIGKILL.
 * - waitReady() resolves once a GET through the gateway reaches a demo backend; it rejects if the
 *   child exits first or READY_TIMEOUT_MS passes.
 * - stopChild() stops this child only, by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { get } from 'node:http'
import { fileURLToPath } from 'node:url'

/** The built gateway (this file runs as dist/bench/gateway/gateway.js). */
export const SERVER = fileURLToPath(new URL('../../server.js', import.meta.url))
export const READY_TIMEOUT_MS = 15_000
export const SIGKILL_AFTER_MS = 10_000
/** Gateway drain time in the temporary config; shorter than SIGKILL_AFTER_MS. */
export const SHUTDOWN_TIMEOUT = '5s'

export function spawnGateway (config: string, logFile: string): ChildProcess {
  const logFd = openSync(logFile, 'w')
  const child = spawn(process.execPath, [SERVER, '--config', config], { stdio: ['ignore', logFd, logFd], detached: true })
  closeSync(logFd)
  process.once('exit', () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  child.once('error', err => process.stderr.write(`bench: cannot start the gateway: ${err.message}\n`))
  return child
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

export async function waitReady (url: string, child: ChildProcess): Promise<void> {
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

/**
 * SIGTERM to this child only, SIGKILL if it is still there after SIGKILL_AFTER_MS. Resolves with
 * how it ended ("code 0", "signal SIGKILL"), or undefined if it had already exited before.
 */
export function stopChild (child: ChildProcess): Promise<string | undefined> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(undefined)
  return new Promise(resolve => {
    const timer = setTimeout(() => child.kill('SIGKILL'), SIGKILL_AFTER_MS)
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve(signal !== null ? `signal ${signal}` : `code ${code}`) })
    child.kill('SIGTERM')
  })
}
