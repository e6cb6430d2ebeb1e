// The dashboard's sampler and latency windows (lib/dashboard/) on a real pool, driven tick by
// tick: rates and error rates from the pool's counters, percentiles from the latency window
// (exact to a bucket, 25%), everything it keeps bounded (history points, transitions), and a
// pool gone after a reload leaving its history.
import t from 'tap'
import { BackendPool } from '../lib/pool.js'
import { LatencyWindows } from '../lib/dashboard/latency.js'
import { DashboardSampler } from '../lib/dashboard/sampler.js'
import { loadConfigText } from '../lib/config/load.js'
import type { Dispatcher } from 'undici'

/** A round-robin pool of backends a and b with no real upstreams (counters only). */
function pool (name = 'web'): BackendPool {
  const cfg = loadConfigText(`pools:\n  ${name}:\n    backends: [ { url: "http://a:1", id: a }, { url: "http://b:1", id: b } ]\n`, { env: {} })
  return new BackendPool(cfg.pools[name]!, { createUpstream: () => ({ close: async () => {} }) as unknown as Dispatcher })
}

t.test('latency percentiles, to within a bucket', async (t) => {
  const w = new LatencyWindows()
  const p = pool()
  const b = p.backends[0]
  for (let i = 0; i < 98; i++) w.request(p, b, 0.002)
  w.request(p, b, 0.2)
  w.request(p, b, 0.2)
  const got = w.takeBackend(b)
  t.equal(got.count, 100)
  t.ok(got.p50! >= 2 && got.p50! <= 2.5, `p50 of 2 ms reads ${got.p50} ms`)
  t.ok(got.p99! >= 200 && got.p99! <= 250, `p99 with 2% at 200 ms reads ${got.p99} ms`)
  t.same(w.takeBackend(b), { count: 0, p50: null, p99: null }, 'take() starts a new window')
  t.equal(w.takePool(p).count, 100, 'the pool window counted the same requests')
  t.same(w.takeBackend(p.backends[1]), { count: 0, p50: null, p99: null }, 'a backend with no request has no percentiles')
})

t.test('rates, error rates and bounded memory', async (t) => {
  const web = pool()
  let pools = [web]
  const s = new DashboardSampler({ pools: () => pools, latency: new LatencyWindows(), revision: () => 7, historyPoints: 3, keepTransitions: 2 })
  await s.tick()
  // 20 requests, round-robin: 10 to each backend; 4 of a's fail.
  let failA = 4
  for (let i = 0; i < 20; i++) {
    const lease = web.acquire({ attempt: 0, key: undefined })!
    const fail = lease.backend.id === 'a' && failA-- > 0
    lease.done({ ok: !fail, status: fail ? 0 : 200, reason: fail ? 'connect' : undefined, latencyMs: 1 })
  }
  const b0 = web.backends[0]
  const f = (await s.tick())!
  const row = f.pools[0].backends.find((b) => b.id === b0.id)!
  t.ok(row.rps > 0, `requests turn into a rate (${row.rps}/s)`)
  t.equal(row.errorRate, 0.4, '4 failures of 10: 40%')
  t.equal(f.pools[0].errorRate, 0.2, 'the pool\'s error rate: 4 of 20')
  t.equal(f.revision, 7)
  for (let i = 0; i < 5; i++) await s.tick()
  const hello = JSON.parse(s.hello().split('data: ')[1]) as { history: Record<string, unknown[]>, transitions: unknown[] }
  t.equal(hello.history.web.length, 3, 'the history keeps historyPoints points')
  for (let i = 0; i < 5; i++) s.transition({ at: i, pool: 'web', backend: b0.id, kind: 'health', to: 'unhealthy', reason: `r${i}` })
  const next = (await s.tick())!
  t.same(next.transitions.map((x) => x.reason), ['r3', 'r4'], 'a frame carries at most keepTransitions new transitions')
  t.same((JSON.parse(s.hello().split('data: ')[1]) as { transitions: Array<{ reason: string }> }).transitions.map((x) => x.reason), ['r3', 'r4'], 'and hello the latest keepTransitions')
  t.same((await s.tick())!.transitions, [], 'each transition is sent once')
  pools = [pool('api')]
  await s.tick()
  t.same(Object.keys((JSON.parse(s.hello().split('data: ')[1]) as { history: object }).history), ['api'], 'a pool gone (reload) leaves the history')
})
