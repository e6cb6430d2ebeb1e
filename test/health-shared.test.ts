// Shared active health checks (healthCheck.active.shared, lib/store/shared-health.ts) on a real
// etcd with three real gateways: once the members are known, each backend is probed by one
// gateway only; a backend that fails its probes turns unhealthy on every gateway, the two that
// do not probe it included; a prober killed with SIGKILL hands its backends to the others; with
// etcd stopped every gateway probes every backend, and one prober per backend resumes after.
import t, { type Test } from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { send, startBackend, type TestBackend } from './helpers/gateway.js'
import { configFile, run, type Run } from './helpers/process.js'
import { etcdMissing, startEtcd } from './helpers/etcd.js'
import { waitFor } from './helpers/wait.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
type Json = any

interface Probed { backend: TestBackend, probers: string[], failing: boolean }
interface Gw { name: string, r: Run, admin: string }

if (etcdMissing !== undefined) {
  t.plan(0, etcdMissing)
} else {
  t.setTimeout(120_000)
  t.test('each backend is probed by one gateway of the fleet, and the others follow it', async (t) => {
    const etcd = await startEtcd(t)
    const probed: Probed[] = []
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const p: Probed = { backend: undefined as unknown as TestBackend, probers: [], failing: false }
      p.backend = await startBackend(t, name, (req, res) => {
        if (req.url === '/health') {
          p.probers.push(String(req.headers['x-prober']))
          res.statusCode = p.failing ? 503 : 200
        }
        res.end(name)
      })
      probed.push(p)
    }
    const root = t.testdir()
    const yaml = (name: string): string => `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
store:
  instance: ${name}
  etcd: { endpoints: [${etcd.url}], prefix: /shared-health/, leaseTtl: 2s, snapshot: ${join(root, name, 'snapshot.json')} }
pools:
  web:
    healthCheck:
      active: { shared: true, path: /health, interval: 100ms, timeout: 100ms, healthyThreshold: 1, unhealthyThreshold: 2, headers: { x-prober: "\${PROBER}" } }
    backends:
${probed.map((p) => `      - url: ${p.backend.url}\n`).join('')}`
    const start = async (t: Test, name: string): Promise<Gw> => {
      mkdirSync(join(root, name), { recursive: true })
      const r = run(['--config', configFile(join(root, name), yaml(name))], { PROBER: name })
      t.teardown(async () => {
        if (r.child.exitCode !== null || r.child.signalCode !== null) return
        r.child.kill('SIGTERM')
        await r.exit
      })
      const line = await r.readyLine
      return { name, r, admin: `http://127.0.0.1:${line.adminPort as number}` }
    }
    const gws = [await start(t, 'gw1'), await start(t, 'gw2'), await start(t, 'gw3')]
    const members = async (g: Gw): Promise<string[]> => ((JSON.parse((await send(g.admin + '/admin/cluster')).text) as Json).members as Json[]).map((m) => m.id).sort()
    await waitFor(async () => (await members(gws[0])).length === 3, { message: 'three members' })

    /** Who probed each backend during `ms` (after the ownership settled). */
    const window = async (ms: number): Promise<string[][]> => {
      for (const p of probed) p.probers = []
      await new Promise((resolve) => setTimeout(resolve, ms))
      return probed.map((p) => [...new Set(p.probers)].sort())
    }
    // Every gateway renews (and reads the member list) every third of the 2 s lease.
    await waitFor(async () => (await window(400)).every((who) => who.length === 1), { message: 'every backend is probed by one gateway', timeoutMs: 10_000, seen: () => probed.map((p) => p.probers.slice(-3)) })
    const owners = await window(600)
    t.ok(owners.every((who) => who.length === 1), 'each backend is probed by exactly one gateway', { owners })
    t.ok(new Set(owners.flat()).size >= 2, 'the probing is spread over the fleet', { owners })

    const states = async (g: Gw): Promise<Record<string, string>> => Object.fromEntries(((JSON.parse((await send(g.admin + '/admin/pools/web')).text) as Json).backends as Json[]).map((b) => [b.id, b.state]))
    const failing = probed[0]
    const id = `127.0.0.1:${failing.backend.port}`
    failing.failing = true
    for (const g of gws) {
      await waitFor(async () => (await states(g))[id] === 'unhealthy', { message: `${g.name} sees backend a unhealthy`, timeoutMs: 10_000 })
    }
    t.pass(`backend a turned unhealthy on all three gateways; only ${owners[0][0]} probes it`)
    failing.failing = false
    for (const g of gws) await waitFor(async () => (await states(g))[id] === 'healthy', { message: `${g.name} sees backend a healthy again`, timeoutMs: 10_000 })

    // Kill the gateway that probes backend a: another takes it over once its lease expires.
    const prober = gws.find((g) => g.name === owners[0][0])!
    prober.r.child.kill('SIGKILL')
    const rest = gws.filter((g) => g !== prober)
    await waitFor(async () => {
      const who = await window(400)
      return who.every((w) => w.length === 1 && w[0] !== prober.name)
    }, { message: `the backends ${prober.name} probed are probed by another gateway`, timeoutMs: 15_000, seen: () => probed.map((p) => p.probers.slice(-3)) })
    const after = await window(600)
    t.ok(after.every((who) => who.length === 1 && rest.some((g) => g.name === who[0])), 'each backend is probed by exactly one of the two left', { after })

    // etcd away: no gateway knows the members any more, so each probes every backend itself.
    const both = rest.map((g) => g.name).sort()
    await etcd.stop()
    await waitFor(async () => (await window(400)).every((who) => who.join() === both.join()), { message: 'with etcd stopped, both gateways probe every backend', timeoutMs: 15_000, seen: () => probed.map((p) => p.probers.slice(-3)) })
    await etcd.start()
    await waitFor(async () => (await window(400)).every((who) => who.length === 1), { message: 'etcd back: one prober per backend again', timeoutMs: 15_000, seen: () => probed.map((p) => p.probers.slice(-3)) })
    t.pass('etcd away: every backend probed by both gateways; etcd back: by one again')
  })
}
