import t from 'tap'
import { poolYaml, send, startBackends, startGateway } from './helpers/gateway.js'

t.test('one pool and no routes: every request goes to the pool, round robin in backend order', async (t) => {
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends))
  const seen: string[] = []
  for (let i = 0; i < 7; i++) {
    const r = await send(gw.url + `/any/path${i}?q=${i}`)
    t.equal(r.status, 200)
    seen.push(r.text)
  }
  // Expected pattern: b1 b2 b3 b1 b2 b3 b1.
  t.same(seen, ['b1', 'b2', 'b3', 'b1', 'b2', 'b3', 'b1'])
  t.same(backends.map((b) => b.seen.length), [3, 2, 2])
  t.equal(backends[0]!.seen[1]!.url, '/any/path3?q=3', 'path and query forwarded unchanged')
})

t.test('the pool counts requests and releases every in-flight slot', async (t) => {
  const backends = await startBackends(t, 2)
  const gw = await startGateway(t, poolYaml(backends))
  await Promise.all(Array.from({ length: 20 }, async () => await send(gw.url + '/')))
  const pool = gw.app.pools.get('web')!
  const snap = pool.snapshot()
  t.same(snap.map((b) => b.requests), [10, 10])
  t.same(snap.map((b) => b.inFlight), [0, 0])
  t.same(snap.map((b) => b.errors), [0, 0])
})

t.test('a disabled backend is skipped and its turn passes on', async (t) => {
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends))
  gw.app.pools.get('web')!.setEnabled('127.0.0.1:' + String(backends[1]!.port), false)
  const seen: string[] = []
  for (let i = 0; i < 4; i++) seen.push((await send(gw.url + '/')).text)
  t.same(seen, ['b1', 'b3', 'b1', 'b3'], 'b2\'s turns go to the next ready backend; the two keep equal shares')
})
