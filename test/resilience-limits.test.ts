// Per-backend limits (circuitBreaker.maxConnections / maxPendingRequests) and panic mode
// (panicThreshold), through the gateway.
import t, { type Test } from 'tap'
import type { ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { BackendPool, PoolEvents } from '../lib/pool.js'
import { errorBody, poolYaml, send, startBackend, startGateway, type BackendHandler, type TestBackend } from './helpers/gateway.js'

/**
 * A backend that holds every answer until release(); arrived(n) resolves once it holds n
 * requests. Teardown closes its connections anyway.
 */
function holding (name: string): { handler: BackendHandler, arrived: (n: number) => Promise<void>, release: () => void } {
  const held: ServerResponse[] = []
  const waiters: Array<{ n: number, resolve: () => void }> = []
  return {
    handler: (_req, res) => {
      held.push(res)
      for (const w of waiters.filter((w) => held.length >= w.n)) w.resolve()
    },
    arrived: async (n) => {
      if (held.length >= n) return
      await new Promise<void>((resolve) => waiters.push({ n, resolve }))
    },
    release: () => { for (const res of held.splice(0)) res.end(name) }
  }
}

type HealthEvent = PoolEvents['health'][0]

/** Resolves once each of `ids` has turned unhealthy; listen before causing it. */
async function unhealthy (pool: BackendPool, ids: string[], ms = 3000): Promise<void> {
  const left = new Set(ids)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      pool.events.off('health', listener)
      reject(new Error(`still healthy after ${ms} ms: ${[...left].join(', ')}`))
    }, ms)
    const listener = (e: HealthEvent): void => {
      if (e.to === 'unhealthy') left.delete(e.backend)
      if (left.size > 0) return
      clearTimeout(timer)
      pool.events.off('health', listener)
      resolve()
    }
    pool.events.on('health', listener)
  })
}

const idOf = (b: { port: number }): string => `127.0.0.1:${b.port}`
const LIMITS = '    circuitBreaker: { maxConnections: 1, maxPendingRequests: 0 }\n'

t.test('maxConnections 1, maxPendingRequests 0: a second concurrent request is refused at once', async (t) => {
  const slow = holding('slow')
  const b = await startBackend(t, 'slow', slow.handler)
  const gw = await startGateway(t, poolYaml([b], '', LIMITS))
  const pool = gw.app.pools.get('web')!

  const first = send(`${gw.url}/first`)
  await slow.arrived(1)
  t.match(pool.snapshot(), [{ inFlight: 1, ready: false }], 'the one slot is taken')
  const started = performance.now()
  const second = await send(`${gw.url}/second`)
  const ms = performance.now() - started
  t.equal(second.status, 503)
  t.equal(errorBody(second.text).error, 'GW_NO_BACKEND')
  t.equal(second.headers['retry-after'], '1')
  t.ok(ms < 500, `answered at once, not queued behind the first (${Math.round(ms)} ms)`)
  t.equal(b.seen.length, 1, 'the second request never reached the backend')

  slow.release()
  t.equal((await first).text, 'slow')
  t.match(pool.snapshot(), [{ inFlight: 0, ready: true }], 'the slot is free again')
  const third = send(`${gw.url}/third`)
  await slow.arrived(1)
  slow.release()
  t.equal((await third).text, 'slow', 'and the next request is served')
})

t.test('with two backends, the second concurrent request goes to the other one', async (t) => {
  const ha = holding('a')
  const hb = holding('b')
  const a = await startBackend(t, 'a', ha.handler)
  const b = await startBackend(t, 'b', hb.handler)
  // Consistent hashing on the path: without the limit, every /same would go to one backend.
  const gw = await startGateway(t, poolYaml([a, b], '', `    algorithm: { name: consistent-hash, key: path }\n${LIMITS}`))
  const both = Promise.all([send(`${gw.url}/same`), send(`${gw.url}/same`)])
  await Promise.race([Promise.all([ha.arrived(1), hb.arrived(1)]), both])
  t.equal(a.seen.length, 1, 'one request at a')
  t.equal(b.seen.length, 1, 'one request at b')

  const third = await send(`${gw.url}/same`)
  t.equal(third.status, 503, 'both full: no backend')
  t.equal(errorBody(third.text).error, 'GW_NO_BACKEND')

  ha.release()
  hb.release()
  t.same((await both).map((r) => r.status), [200, 200])

  // The control: one at a time, /same always goes to the same backend.
  const owners: string[] = []
  for (let i = 0; i < 3; i++) {
    const r = send(`${gw.url}/same`)
    await Promise.race([ha.arrived(1), hb.arrived(1)])
    ha.release()
    hb.release()
    owners.push((await r).text)
  }
  t.equal(new Set(owners).size, 1, `sequential /same requests share one backend (${owners.join(', ')})`)
})

/** Three backends; the first two fail their health checks. Returns how many requests each served. */
async function panicRun (t: Test, panicThreshold: string): Promise<number[]> {
  const sickHealth: BackendHandler = (req, res) => {
    if (req.url === '/health') res.statusCode = 503
    res.end('sick')
  }
  const list: TestBackend[] = [
    await startBackend(t, 's1', sickHealth),
    await startBackend(t, 's2', sickHealth),
    await startBackend(t, 'ok')
  ]
  const gw = await startGateway(t, poolYaml(list, '', `    healthCheck:
      active: { interval: 150ms, timeout: 150ms, unhealthyThreshold: 2 }
${panicThreshold}`))
  const pool = gw.app.pools.get('web')!
  await unhealthy(pool, [idOf(list[0]!), idOf(list[1]!)])
  t.same(pool.snapshot().map((s) => s.healthy), [false, false, true])
  for (let i = 0; i < 6; i++) t.equal((await send(`${gw.url}/p${i}`)).status, 200)
  return list.map((b) => b.seen.filter((r) => r.url !== '/health').length)
}

t.test('panic mode: 1 of 3 healthy is under panicThreshold 50, so all three get traffic', async (t) => {
  t.same(await panicRun(t, '    panicThreshold: 50\n'), [2, 2, 2], 'round robin over all three, health ignored')
})

t.test('without panicThreshold only the healthy backend gets traffic', async (t) => {
  t.same(await panicRun(t, ''), [0, 0, 6])
})
