// A real etcd (Debian's etcd-server) for the fleet tests: started on free ports of 127.0.0.1 in
// a temp data dir, stopped (by its PID) in teardown. stop() and start() again keep the data, so a
// test can take etcd away and bring it back. `ETCD_BIN` overrides the binary; where there is
// none, `etcdMissing` says so and the fleet tests skip (.ci/run installs etcd-server).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { EtcdClient } from '../../lib/store/etcd-client.js'
import { deadPort } from './gateway.js'
import { waitFor } from './wait.js'

const BIN = process.env.ETCD_BIN ?? 'etcd'

/** Why the fleet tests cannot run here, or undefined when etcd is installed. */
export const etcdMissing: string | undefined = spawnSync(BIN, ['--version'], { stdio: 'ignore' }).status === 0
  ? undefined
  : `no etcd binary (${BIN}): apt-get install etcd-server (.ci/run does)`

export interface TestEtcd {
  url: string
  client: EtcdClient
  /** Stops the server (SIGTERM, then waits for the exit); the data stays. */
  stop: () => Promise<void>
  /** Starts it again on the same ports and data; resolves once it answers. */
  start: () => Promise<void>
  log: () => string
}

export async function startEtcd (t: Test): Promise<TestEtcd> {
  // Its own temp dir, not t.testdir(): tap empties that dir each time a test calls testdir() again.
  const dir = mkdtempSync(join(tmpdir(), 'ub-etcd-'))
  const [client, peer] = [await deadPort(), await deadPort()]
  const url = `http://127.0.0.1:${client}`
  let child: ChildProcess | undefined
  let out = ''
  const args = [
    '--name', 'test', '--data-dir', `${dir}/data`,
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `test=http://127.0.0.1:${peer}`,
    '--log-level', 'warn'
  ]
  const c = new EtcdClient({ endpoints: [url], timeoutMs: 1000 })
  const start = async (): Promise<void> => {
    const p = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child = p
    p.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    p.stderr!.on('data', (d: Buffer) => { out += d.toString() })
    await waitFor(async () => {
      if (p.exitCode !== null) throw new Error(`etcd exited (${p.exitCode}): ${out}`)
      return await c.get('/health-probe').then(() => true, () => false)
    }, { timeoutMs: 15_000, message: 'etcd answers', seen: () => out.slice(-500) })
  }
  const stop = async (): Promise<void> => {
    const p = child
    child = undefined
    if (p === undefined || p.exitCode !== null) return
    const gone = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGTERM')
    await gone
  }
  await start()
  t.teardown(async () => {
    await stop()
    await c.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { url, client: c, stop, start, log: () => out }
}
