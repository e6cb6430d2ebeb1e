// A real Redis (Debian's redis-server) for the shared rate-limit tests: on a free port of
// 127.0.0.1, in a temp dir, without persistence; stopped by its PID in teardown. `redisMissing`
// says why the tests skip where there is no redis-server (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { deadPort } from './gateway.js'
import { waitFor } from './wait.js'

const BIN = process.env.REDIS_BIN ?? 'redis-server'

export const redisMissing: string | undefined = spawnSync(BIN, ['--version'], { stdio: 'ignore' }).status === 0
  ? undefined
  : `no redis-server binary (${BIN}): apt-get install redis-server (.ci/run does)`

export interface TestRedis { url: string, stop: () => Promise<void> }

export async function startRedis (t: Test): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'ub-redis-'))
  const port = await deadPort()
  let out = ''
  const child: ChildProcess = spawn(BIN, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${out}`)
    return out.includes('Ready to accept connections')
  }, { timeoutMs: 10_000, message: 'redis-server is ready', seen: () => out.slice(-300) })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await gone
  }
  t.teardown(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return { url: `redis://127.0.0.1:${port}`, stop }
}
