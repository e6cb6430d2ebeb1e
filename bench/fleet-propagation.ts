/**
 * `npm run bench:fleet`: how long a config change made on one gateway of a fleet takes to be in
 * force on the others (issue 16 asks for p50/p99 across three instances; the goal is < 1 s).
 *
 *   node dist/bench/fleet-propagation.js [--changes N]   (default 200; needs etcd on PATH)
 *
 * Starts a real etcd on free ports in a temp dir and three gateways (dist/server.js) on it, then
 * makes N backend weight changes on gateway 1, one at a time. For each, the time from sending
 * the PATCH to the moment gateways 2 and 3 applied it, from their own log lines ("applied a config
 * change made by another gateway", pino's ms timestamp; one clock, one machine). The next change
 * is sent once both applied the last. Prints p50/p90/p99/max per gateway and a JSON line last.
 * Everything it started is stopped by its PID at the end, also on errors.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePorts } from './gateway/config.js'
import { SERVER } from './gateway/gateway.js'
import { out } from './gateway/common.js'

const WATCHDOG_MS = 5 * 60_000

interface Proc { child: ChildProcess, applied: Map<number, number>, ready: Promise<{ adminPort: number }> }

function gateway (config: string): Proc {
  const child = spawn(process.execPath, [SERVER, '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] })
  const applied = new Map<number, number>()
  let buf = ''
  let onReady: (v: { adminPort: number }) => void = () => {}
  const ready = new Promise<{ adminPort: number }>((resolve, reject) => {
    onReady = resolve
    child.once('exit', (code) => { reject(new Error(`a gateway exited (${String(code)}) before it was ready`)) })
  })
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (!line.startsWith('{')) continue
      const l = JSON.parse(line) as { msg?: string, time?: number, revision?: number, adminPort?: number }
      if (l.msg === 'gateway ready') onReady({ adminPort: l.adminPort! })
      if (l.msg === 'applied a config change made by another gateway of the fleet') applied.set(l.revision!, l.time!)
    }
  })
  return { child, applied, ready }
}

async function patch (port: number, path: string, body: unknown): Promise<{ status: number, revision: number }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PATCH', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode!, revision: (JSON.parse(text) as { revision: number }).revision }) })
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function main (): Promise<void> {
  const i = process.argv.indexOf('--changes')
  const changes = i > 0 ? Number(process.argv[i + 1]) : 200
  const dir = mkdtempSync(join(tmpdir(), 'ub-fleet-bench-'))
  const procs: ChildProcess[] = []
  const watchdog = setTimeout(() => { out('watchdog: the bench overran'); process.exit(1) }, WATCHDOG_MS)
  try {
    const [client, peer, backend] = await freePorts(3)
    const etcdUrl = `http://127.0.0.1:${client}`
    const etcd = spawn('etcd', ['--name', 'b', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `b=http://127.0.0.1:${peer}`, '--log-level', 'warn'], { stdio: 'ignore' })
    procs.push(etcd)
    const gws: Proc[] = []
    for (const name of ['gw1', 'gw2', 'gw3']) {
      const config = join(dir, `${name}.yaml`)
      writeFileSync(config, `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
log: { level: info, access: false }
store:
  instance: ${name}
  etcd: { endpoints: [${etcdUrl}], prefix: /bench/, snapshot: ${join(dir, `${name}-snapshot.json`)} }
pools:
  web: { backends: [ { id: b, url: "http://127.0.0.1:${backend}" } ] }
`)
      // etcd may still be starting: the first gateway retries until it answers.
      for (let attempt = 0; ; attempt++) {
        const g = gateway(config)
        procs.push(g.child)
        try {
          await g.ready
          gws.push(g)
          break
        } catch (err) {
          if (attempt > 20) throw err
          await sleep(250)
        }
      }
    }
    const admin = (await gws[0].ready).adminPort
    const delays: number[][] = [[], []]
    for (let n = 0; n < changes; n++) {
      const sent = Date.now()
      const r = await patch(admin, '/admin/pools/web/backends/b', { weight: 1 + (n % 50) })
      if (r.status !== 200) throw new Error(`PATCH answered ${r.status}`)
      const deadline = Date.now() + 10_000
      while (!gws.slice(1).every((g) => g.applied.has(r.revision))) {
        if (Date.now() > deadline) throw new Error(`revision ${r.revision} did not reach every gateway within 10 s`)
        await sleep(2)
      }
      gws.slice(1).forEach((g, k) => { delays[k].push(g.applied.get(r.revision)! - sent) })
    }
    const summary: Record<string, unknown> = { bench: 'fleet-propagation', changes, gateways: 3 }
    out(`config changes made on gateway 1 (${changes}), time until applied on the others, in ms:`)
    out('gateway  p50  p90  p99  max')
    delays.forEach((d, k) => {
      const s = [...d].sort((a, b) => a - b)
      const row = { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s[s.length - 1] }
      out(`gw${k + 2}     ${[row.p50, row.p90, row.p99, row.max].map((v) => String(v).padStart(4)).join(' ')}`)
      summary[`gw${k + 2}`] = row
    })
    out(JSON.stringify(summary))
  } finally {
    clearTimeout(watchdog)
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((resolve) => p.once('exit', resolve))
        p.kill('SIGTERM')
        await Promise.race([gone, sleep(10_000)])
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  out(`fleet-propagation failed: ${(err as Error).message}`)
  process.exitCode = 1
})
