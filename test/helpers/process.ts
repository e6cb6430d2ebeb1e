/**
 * The gateway as users run it: `node dist/server.js` in a child process, its JSON log lines
 * read from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoPath } from './paths.js'
import { within } from './wait.js'

const SERVER = repoPath('dist/server.js')

/**
 * The environment for the spawned gateway, without tap's coverage hooks: coverage of the
 * compiled dist/ files would be merged over the sources' coverage and hide it.
 */
export function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  for (const k of Object.keys(env)) if (k === 'NODE_V8_COVERAGE' || k === 'NODE_OPTIONS' || k.startsWith('_TAPJS')) delete env[k]
  return env
}

export interface Run {
  child: ChildProcess
  lines: Array<Record<string, unknown>>
  stderr: () => string
  exit: Promise<number | null>
  port: Promise<number>
  /** The whole "gateway ready" line (ports, adminPort, workers). */
  readyLine: Promise<Record<string, unknown>>
}

/** Starts dist/server.js as users do; resolves `port` from its "gateway ready" log line. */
/** `detached`: the gateway leads a process group of its own (its workers join it), as under a terminal or systemd. */
export function run (args: string[], env: NodeJS.ProcessEnv = {}, detached = false): Run {
  const child = spawn(process.execPath, [SERVER, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached })
  const lines: Array<Record<string, unknown>> = []
  let err = ''
  let out = ''
  let onReady: (l: Record<string, unknown>) => void = () => {}
  let notReady: (err: Error) => void = () => {}
  const readyLine = new Promise<Record<string, unknown>>((resolve, reject) => { onReady = resolve; notReady = reject })
  readyLine.catch(() => {}) // runs that never listen (--validate, a bad config) do not await it
  const port = readyLine.then((l) => l.port as number)
  port.catch(() => {})
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString()
    let i
    while ((i = out.indexOf('\n')) !== -1) {
      const text = out.slice(0, i)
      out = out.slice(i + 1)
      if (!text.startsWith('{')) continue
      const line = JSON.parse(text) as Record<string, unknown>
      lines.push(line)
      if (line.msg === 'gateway ready') onReady(line)
    }
  })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  void exit.then((code) => { notReady(new Error(`the gateway exited (${String(code)}) before it was ready: ${err}`)) })
  return { child, lines, stderr: () => err, exit, port, readyLine }
}

/** Generous: a child process starts (or stops) on a machine busy with other test files. */
export const PROCESS_MS = 15_000

/** The port from the "gateway ready" line; fails when the gateway exits first, or after PROCESS_MS. */
export async function ready (r: Run): Promise<number> {
  return await within(r.port, { timeoutMs: PROCESS_MS, message: 'the gateway logged "gateway ready"', seen: r.stderr })
}

/** The exit code; fails when the process has not exited within PROCESS_MS. */
export async function exited (r: Pick<Run, 'exit' | 'stderr'>): Promise<number | null> {
  return await within(r.exit, { timeoutMs: PROCESS_MS, message: 'the gateway process exited', seen: r.stderr })
}

export function configFile (dir: string, yaml: string): string {
  const f = join(dir, 'gateway.yaml')
  writeFileSync(f, yaml)
  return f
}
