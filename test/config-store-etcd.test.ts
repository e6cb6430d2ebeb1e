// The fleet store (docs/config-store.md, "etcd"): three real gateways (node dist/server.js) on
// one real etcd. A change made on one serves traffic through the others; conflicting writes get
// 409; etcd stopped: every gateway keeps serving, writes get 503 and /readyz says so; etcd back:
// a change made through etcd directly is picked up; a gateway restarted while etcd is down boots
// from its snapshot; a gateway that misses compacted revisions reads the state whole; a gateway
// killed leaves GET /admin/cluster within the lease TTL.
import t, { type Test } from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { send, startBackend, type TestBackend } from './helpers/gateway.js'
import { configFile, exited, run, type Run } from './helpers/process.js'
import { etcdMissing, startEtcd, type TestEtcd } from './helpers/etcd.js'
import { waitFor } from './helpers/wait.js'
import { parseState } from '../lib/store/state-etcd.js'

if (etcdMissing !== undefined) {
  t.plan(0, etcdMissing)
} else {
  t.setTimeout(180_000)
  await fleetTests()
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
type Json = any
const PREFIX = '/ub-test/'
const KEY = `${PREFIX}config`

interface Gw { name: string, path: string, r: Run, url: string, admin: string }

const yamlOf = (name: string, dir: string, etcd: string, backends: TestBackend[]): string => `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
store:
  instance: ${name}
  etcd: { endpoints: [${etcd}], prefix: ${PREFIX}, leaseTtl: 2s, dialTimeout: 1s, snapshot: ${join(dir, 'snapshot.json')} }
pools:
  web:
    backends:
${backends.map((b) => `      - url: ${b.url}\n`).join('')}`

async function start (t: Test, name: string, path: string, env: NodeJS.ProcessEnv = {}): Promise<Gw> {
  const r = run(['--config', path], env)
  t.teardown(async () => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return
    r.child.kill('SIGCONT')
    r.child.kill('SIGTERM')
    await r.exit
  })
  const line = await r.readyLine
  return { name, path, r, url: `http://127.0.0.1:${line.port as number}`, admin: `http://127.0.0.1:${line.adminPort as number}` }
}

async function call (g: Gw, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: Json }> {
  const r = await send(g.admin + path, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: r.status, json: JSON.parse(r.text) }
}

const revisionOf = async (g: Gw): Promise<number> => (await call(g, 'GET', '/admin/config/store')).json.revision
const idsOf = async (g: Gw): Promise<string[]> => (await call(g, 'GET', '/admin/pools/web')).json.backends.map((b: Json) => b.id).sort()
const logged = (g: Gw, re: RegExp): boolean => g.r.lines.some((l) => typeof l.msg === 'string' && re.test(l.msg))

/** Which backends answer through `g` in `n` requests (the backends answer with their name). */
async function servedBy (g: Gw, n: number): Promise<Set<string>> {
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const r = await send(g.url + '/')
    if (r.status === 200) seen.add(r.text)
  }
  return seen
}

async function fleetTests (): Promise<void> {
  t.test('three gateways on one etcd', async (t) => {
    const top = t
    const etcd: TestEtcd = await startEtcd(t)
    const a = await startBackend(t, 'a')
    const b = await startBackend(t, 'b')
    const c = await startBackend(t, 'c')
    const gws: Gw[] = []
    const root = t.testdir()
    for (const name of ['gw1', 'gw2', 'gw3']) {
      const dir = join(root, name)
      mkdirSync(dir, { recursive: true })
      // Every file names backend a only: the first gateway seeds etcd, the others follow it.
      // Only gateway 1 has ONLY set: a fleet config that needs it loads there and nowhere else.
      gws.push(await start(t, name, configFile(dir, yamlOf(name, dir, etcd.url, [a])), name === 'gw1' ? { ONLY: String(a.port) } : {}))
    }
    const [g1, g2, g3] = gws
    t.ok(logged(g1, /etcd was empty: seeded it/), 'the first gateway seeds etcd')
    t.ok(logged(g2, /following the fleet config in etcd, revision 1/), 'the second follows it')
    const stored = parseState((await etcd.client.get(KEY)).kv!.value)
    t.equal(typeof stored === 'object' && stored.revision, 1, 'etcd holds revision 1')
    t.notOk(typeof stored === 'object' && 'listen' in (stored.base as object), 'the listen section stays with each gateway, not in etcd')

    await t.test('GET /admin/cluster lists the live gateways on any of them', async (t) => {
      await waitFor(async () => (await call(g3, 'GET', '/admin/cluster')).json.members.length === 3, { message: 'three members are registered' })
      const cluster = (await call(g3, 'GET', '/admin/cluster')).json
      t.same(cluster.members.map((m: Json) => m.id).sort(), ['gw1', 'gw2', 'gw3'])
      t.equal(cluster.instance, 'gw3')
      t.equal(cluster.connected, true)
      const m1 = cluster.members.find((m: Json) => m.id === 'gw1')
      t.equal(m1.address, `127.0.0.1:${new URL(g1.url).port}`, 'a member says its bound listener address')
      t.equal(m1.pid, g1.r.child.pid)
    })

    await t.test('a backend added on gateway 1 serves traffic through gateways 2 and 3', async (t) => {
      const added = await call(g1, 'POST', '/admin/pools/web/backends', { url: b.url })
      t.equal(added.status, 201)
      t.equal(added.json.revision, 2)
      const t0 = performance.now()
      for (const g of [g2, g3]) {
        await waitFor(async () => (await servedBy(g, 4)).has('b'), { message: `${g.name} sends traffic to the added backend` })
      }
      t.comment(`the change served through gateways 2 and 3 after ${Math.round(performance.now() - t0)} ms (bench/fleet-propagation measures it)`)
      t.same(await idsOf(g3), [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort())
      await waitFor(async () => (await call(g1, 'GET', '/admin/cluster')).json.members.every((m: Json) => m.revision === 2), { message: 'every member says it applied revision 2' })
    })

    await t.test('writes on a revision that moved on get 409; writes without If-Match on two gateways at once both land', async (t) => {
      const stale = await call(g2, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${a.port}`, { weight: 5 }, { 'if-match': '"1"' })
      t.equal(stale.status, 409)
      t.equal(stale.json.error, 'GW_CONFIG_REVISION_MOVED')
      const [w2, w3] = await Promise.all([
        call(g2, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${a.port}`, { weight: 7 }),
        call(g3, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${b.port}`, { weight: 3 })
      ])
      t.equal(w2.status, 200)
      t.equal(w3.status, 200)
      t.not(w2.json.revision, w3.json.revision, 'each write got its own revision')
      t.equal(Math.max(w2.json.revision, w3.json.revision), 4)
      for (const g of gws) {
        await waitFor(async () => await revisionOf(g) === 4, { message: `${g.name} applied revision 4` })
        const weights = Object.fromEntries((await call(g, 'GET', '/admin/pools/web')).json.backends.map((x: Json) => [x.id, x.weight]))
        t.same(weights, { [`127.0.0.1:${a.port}`]: 7, [`127.0.0.1:${b.port}`]: 3 }, `${g.name} has both changes`)
      }
    })

    await t.test('etcd stopped: every gateway keeps serving, writes get 503, /readyz and the metric say so', async (t) => {
      await etcd.stop()
      for (const g of gws) {
        await waitFor(async () => (await call(g, 'GET', '/readyz')).json.store.connected === false, { message: `${g.name} sees etcd gone`, timeoutMs: 8000 })
        const ready = await call(g, 'GET', '/readyz')
        t.equal(ready.status, 200, `${g.name} stays ready: it serves its last config`)
        t.same([...await servedBy(g, 6)].sort(), ['a', 'b'], `${g.name} still balances over both backends`)
      }
      const refused = await call(g1, 'POST', '/admin/pools/web/backends', { url: c.url })
      t.equal(refused.status, 503)
      t.equal(refused.json.error, 'GW_STORE_UNAVAILABLE')
      t.notMatch(refused.json.message, /127\.0\.0\.1/, 'the answer names no internal address')
      t.equal((await idsOf(g1)).length, 2, 'nothing changed')
      const metrics = await send(g1.admin + '/metrics')
      t.match(metrics.text, /^gateway_config_store_connected 0$/m)
      t.equal((await call(g2, 'GET', '/admin/cluster')).status, 503, 'the member list is unknown while etcd is away')
    })

    await t.test('a gateway restarted while etcd is down boots from its local snapshot', async (t) => {
      g3.r.child.kill('SIGTERM')
      t.equal(await exited(g3.r), 0)
      const again = await start(top, 'gw3', g3.path) // torn down with the whole test, not this step
      gws[2] = again
      t.ok(logged(again, /started from the local snapshot .* \(revision 4\)/), 'it says it started from its snapshot') // logged before "gateway ready"
      t.same([...await servedBy(again, 6)].sort(), ['a', 'b'], 'and serves the fleet config it had applied, the added backend too')
    })

    await t.test('etcd back: a change made meanwhile through etcd directly is picked up by every gateway', async (t) => {
      await etcd.start()
      // Written straight into etcd, as another tool would, before the gateways have reconnected.
      const cur = await etcd.client.get(KEY)
      const state = parseState(cur.kv!.value)
      if (typeof state === 'string') throw new Error(state)
      const next = { ...state, revision: 5, overrides: { ...state.overrides, web: { ...state.overrides.web, add: [...(state.overrides.web?.add ?? []), { id: 'c', url: c.url, weight: 1 }] } } }
      t.ok((await etcd.client.putIfUnchanged(KEY, JSON.stringify(next), cur.kv!.modRevision)).ok)
      for (const g of gws) {
        await waitFor(async () => (await servedBy(g, 6)).has('c'), { message: `${g.name} serves through the backend added in etcd`, timeoutMs: 15_000 })
        await waitFor(async () => (await call(g, 'GET', '/readyz')).json.store.connected === true, { message: `${g.name} is connected again`, timeoutMs: 15_000 })
      }
      t.equal((await call(gws[2], 'POST', '/admin/pools/web/backends/c/drain')).status, 202, 'writes work again, on the gateway that booted from its snapshot too')
      await waitFor(async () => await revisionOf(g1) === 6, { message: 'the drain reached gateway 1' })
    })

    await t.test('a gateway that missed compacted revisions reads the whole config again', async (t) => {
      // Gateway 2 is frozen while etcd restarts and the fleet moves on by three revisions,
      // which are then compacted away: when it wakes, its watch is gone and the revisions after
      // its last one no longer exist.
      g2.r.child.kill('SIGSTOP')
      await etcd.stop()
      await etcd.start()
      await waitFor(async () => (await call(g1, 'GET', '/readyz')).json.store.connected === true, { message: 'gateway 1 reconnected', timeoutMs: 15_000 })
      for (const w of [2, 4, 6]) t.equal((await call(g1, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${b.port}`, { weight: w })).status, 200)
      const now = await etcd.client.get(KEY)
      await etcd.client.compact(now.revision)
      g2.r.child.kill('SIGCONT')
      await waitFor(async () => await revisionOf(g2) === 9, { message: 'gateway 2 reached revision 9', timeoutMs: 15_000, seen: () => g2.r.lines.slice(-3) })
      // The log line may reach the test after the answer that showed revision 9.
      await waitFor(() => logged(g2, /compacted the revisions this gateway had not seen/), { message: 'gateway 2 said it read the config whole', seen: () => g2.r.lines.filter((l) => l.msg !== 'access').slice(-6).map((l) => l.msg) })
      const w = (await call(g2, 'GET', '/admin/pools/web')).json.backends.find((x: Json) => x.id === `127.0.0.1:${b.port}`).weight
      t.equal(w, 6)
    })

    await t.test('a gateway that cannot apply the fleet revision refuses writes instead of overwriting it', async (t) => {
      const put = await call(g1, 'PUT', '/admin/config', { pools: { web: { backends: [{ url: 'http://127.0.0.1:${ONLY}' }, { url: b.url }] } } })
      t.equal(put.status, 200, 'gateway 1 (which has ONLY) takes it')
      t.equal(put.json.revision, 10)
      await waitFor(async () => (await call(g2, 'GET', '/readyz')).json.store.refused?.revision === 10, { message: 'gateway 2 says it refused revision 10' })
      t.equal(await revisionOf(g2), 9, 'gateway 2 keeps serving revision 9')
      const w = await call(g2, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${b.port}`, { weight: 9 })
      t.equal(w.status, 409)
      t.equal(w.json.error, 'GW_CONFIG_BEHIND')
      const stored = parseState((await etcd.client.get(KEY)).kv!.value)
      t.equal(typeof stored === 'object' && stored.revision, 10, 'etcd still holds revision 10')
      const fixed = await call(g1, 'PUT', '/admin/config', { pools: { web: { backends: [{ url: a.url }, { url: b.url }] } } })
      t.equal(fixed.json.revision, 11)
      await waitFor(async () => await revisionOf(g2) === 11, { message: 'gateway 2 applied revision 11' })
      t.equal((await call(g2, 'GET', '/readyz')).json.store.refused, undefined, 'and no longer says it refused one')
      t.equal((await call(g2, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${b.port}`, { weight: 9 })).status, 200, 'and takes writes again')
    })

    await t.test('a gateway killed leaves the member list within the lease TTL', async (t) => {
      gws[2].r.child.kill('SIGKILL')
      await waitFor(async () => {
        const r = await call(g1, 'GET', '/admin/cluster')
        return r.status === 200 && r.json.members.length === 2
      }, { message: 'gw3 is gone from the members', timeoutMs: 10_000 })
      t.same((await call(g1, 'GET', '/admin/cluster')).json.members.map((m: Json) => m.id).sort(), ['gw1', 'gw2'])
    })
  })

  t.test('starting with etcd unreachable and no snapshot is refused, saying why', async (t) => {
    const etcd = await startEtcd(t)
    await etcd.stop()
    const a = await startBackend(t, 'a')
    const dir = t.testdir()
    const r = run(['--config', configFile(dir, yamlOf('lonely', dir, etcd.url, [a]))])
    t.equal(await exited(r), 1)
    t.match(r.stderr(), /did not give a config and there is no local snapshot/)
  })
}
