/**
 * A gateway with `workers: 2` run as users run it (node dist/server.js, a primary and two worker
 * processes sharing the client listeners), and what the workers tests ask of it. Answers say
 * which worker served them (workers.debugHeader); the admin API is the primary's.
 */
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { send, type TestBackend } from './gateway.js'
import { configFile, exited, run, PROCESS_MS, type Run } from './process.js'
import { within } from './wait.js'

export interface Gateway { r: Run, url: string, port: number, admin: string, primary: number }

/** A gateway with 2 workers and the debug header over `backends`; stopped (SIGTERM) at teardown. */
export async function start (t: Test, backends: TestBackend[], extra = '', pool = '', morePools = '', listen = '{ host: 127.0.0.1, port: 0 }'): Promise<Gateway> {
  const yaml = `listen: ${listen}
admin: { host: 127.0.0.1, port: 0 }
workers: { count: 2, debugHeader: true }
log: { access: false }
shutdown: { timeout: 5s }
${extra}pools:
  web:
${pool}    backends:
${backends.map((b) => `      - url: ${b.url}\n`).join('')}${morePools}`
  // A process group of its own, so a test can signal the whole group as a terminal does.
  const r = run(['--config', configFile(t.testdir(), yaml)], {}, true)
  t.teardown(async () => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return
    r.child.kill('SIGTERM')
    await exited(r)
  })
  const line = await within(r.readyLine, { timeoutMs: PROCESS_MS, message: 'the gateway logged "gateway ready"', seen: r.stderr })
  return { r, url: `http://127.0.0.1:${line.port as number}`, port: line.port as number, admin: `http://127.0.0.1:${line.adminPort as number}`, primary: r.child.pid! }
}

/** `n` requests, each on a new connection, `lanes` at a time; the workers that answered, counted. */
export async function spread (url: string, n: number, lanes = 8): Promise<{ statuses: number[], byWorker: Map<string, number> }> {
  const statuses: number[] = []
  const byWorker = new Map<string, number>()
  let left = n
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (left-- > 0) {
      const reply = await send(url + '/')
      statuses.push(reply.status)
      const w = String(reply.headers['x-gateway-worker'])
      byWorker.set(w, (byWorker.get(w) ?? 0) + 1)
    }
  }))
  return { statuses, byWorker }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function getJson (url: string): Promise<any> {
  const r = await send(url)
  if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}: ${r.text}`)
  return JSON.parse(r.text)
}

export interface WorkerRow { worker: number, pid: number | null, state: string, restarts: number, requests: number | null }
export async function workers (g: Gateway): Promise<WorkerRow[]> {
  return (await getJson(`${g.admin}/admin/workers`)).workers as WorkerRow[]
}

/** The parent pid of `pid`, from /proc (Linux). */
export function parentOf (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
