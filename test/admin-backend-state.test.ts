// The one-word `state` of each backend in the admin API (issue 13): every word is reached by
// the action that causes it, over real sockets, and the log line of that change carries the
// same word. Precedence when several hold: disabled > draining > unhealthy > ejected > open >
// healthy (lib/pool/state.ts; its own test covers every pair).
import t from 'tap'
import { once } from 'node:events'
import type { BackendState } from '../lib/pool/state.js'
import { FakeClock } from './helpers/fake-clock.js'
import { admin, type AdminCall } from './helpers/admin.js'
import { poolYaml, send, startBackend, startGateway, type TestGateway } from './helpers/gateway.js'
import { waitFor, within } from './helpers/wait.js'

const idOf = (b: { port: number }): string => `127.0.0.1:${b.port}`

/** The backend `id` of pool "web" as both admin reads show it: the list and the one pool. */
async function stateOf (call: AdminCall, id: string): Promise<Record<string, unknown>> {
  const all = (await call('GET', '/admin/pools')).json.pools[0].backends.find((b: { id: string }) => b.id === id)
  const one = (await call('GET', '/admin/pools/web')).json.backends.find((b: { id: string }) => b.id === id)
  if (all?.state !== one?.state) throw new Error(`the two reads disagree: ${String(all?.state)} and ${String(one?.state)}`)
  return one
}

/** The log line `msg` about backend `id`; waits for it (the write is part of the change). */
async function logLine (gw: TestGateway, msg: string, id: string): Promise<Record<string, unknown>> {
  const find = (): Record<string, unknown> | undefined => gw.logs.find((l) => l.msg === msg && l.backend === id)
  await waitFor(() => find() !== undefined, { message: `the gateway logged "${msg}" for ${id}`, seen: () => gw.logs.map((l) => l.msg) })
  return find()!
}

const words = async (call: AdminCall): Promise<BackendState[]> => (await call('GET', '/admin/pools/web')).json.backends.map((b: { state: BackendState }) => b.state)

t.test('healthy, then unhealthy once active checks find the backend gone (its server closed)', async (t) => {
  const doomed = await startBackend(t, 'doomed')
  const other = await startBackend(t, 'other')
  // The closed backend fails its probe at once (connection refused); the probe timeout is 1s
  // so that the live one never times out on a loaded machine (it did once with 100ms in CI).
  const gw = await startGateway(t, poolYaml([doomed, other], '', `    healthCheck:
      active: { interval: 1s, timeout: 1s, unhealthyThreshold: 1, healthyThreshold: 1 }
`))
  const call = await admin(gw.app)
  const pool = gw.app.pools.get('web')!
  t.same(await words(call), ['healthy', 'healthy'])

  const down = once(pool.events, 'health')
  doomed.server.closeAllConnections()
  await new Promise((resolve) => doomed.server.close(resolve))
  const [e] = await within(down, { message: 'active checks marked the closed backend unhealthy', seen: () => pool.snapshot() })
  t.match(e, { backend: idOf(doomed), to: 'unhealthy', state: 'unhealthy' })
  t.match(await stateOf(call, idOf(doomed)), { state: 'unhealthy', healthy: false, ready: false })
  t.match(await stateOf(call, idOf(other)), { state: 'healthy', healthy: true, ready: true })
  t.match(await logLine(gw, 'backend unhealthy', idOf(doomed)), { level: 40, pool: 'web', state: 'unhealthy' })
})

t.test('draining after POST …/drain; disabled after PATCH enabled: false, and disabled outranks draining', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([a, b]))
  const call = await admin(gw.app)

  const drained = await call('POST', `/admin/pools/web/backends/${idOf(a)}/drain`)
  t.match(drained, { status: 202, json: { state: 'draining', draining: true } }, 'the drain answer has the word')
  t.match(await stateOf(call, idOf(a)), { state: 'draining' })
  t.match(await logLine(gw, 'backend draining', idOf(a)), { pool: 'web', state: 'draining' })

  const off = await call('PATCH', `/admin/pools/web/backends/${idOf(b)}`, { enabled: false })
  t.match(off, { status: 200, json: { state: 'disabled', enabled: false } })
  t.match(await logLine(gw, 'backend disabled', idOf(b)), { pool: 'web', enabled: false, state: 'disabled' })
  t.match((await call('PATCH', `/admin/pools/web/backends/${idOf(a)}`, { enabled: false })).json, { state: 'disabled', draining: true, enabled: false },
    'a draining backend that is disabled reads disabled; the booleans still say both')

  t.match((await call('PATCH', `/admin/pools/web/backends/${idOf(b)}`, { enabled: true })).json, { state: 'healthy', enabled: true })
  t.match(await logLine(gw, 'backend enabled', idOf(b)), { state: 'healthy' })
  t.same(await words(call), ['disabled', 'healthy'])
})

t.test('ejected after consecutive passive failures', async (t) => {
  const sick = await startBackend(t, 'sick', (_req, res) => { res.statusCode = 502; res.end('bad') })
  const well = await startBackend(t, 'well')
  // The ejection's return is a timer of the pool's clock: a FakeClock holds it back.
  const gw = await startGateway(t, poolYaml([sick, well], '', `    healthCheck:
      passive: { consecutiveFailures: 2, maxEjectionPercent: 50 }
    retry: { attempts: 1 }
`), {}, undefined, { clock: new FakeClock() })
  const call = await admin(gw.app)
  const pool = gw.app.pools.get('web')!
  const ejected = once(pool.events, 'eject')
  // Round robin: sick, well, sick: the second 502 ejects it.
  for (let i = 0; i < 3; i++) await send(`${gw.url}/r${i}`)
  const [e] = await within(ejected, { message: 'the failing backend was ejected', seen: () => pool.snapshot() })
  t.match(e, { backend: idOf(sick), state: 'ejected' })
  t.match(await stateOf(call, idOf(sick)), { state: 'ejected', ejected: true, healthy: true })
  t.match(await logLine(gw, 'backend ejected (outlier)', idOf(sick)), { state: 'ejected' })
  t.same(await words(call), ['ejected', 'healthy'])
})

t.test('open after its circuit breaker trips; draining outranks it', async (t) => {
  const flaky = await startBackend(t, 'flaky', (_req, res) => { res.socket?.destroy() })
  const good = await startBackend(t, 'good')
  // The breaker reads the pool's clock: with a FakeClock its open time never runs out here.
  const gw = await startGateway(t, poolYaml([flaky, good], '', `    circuitBreaker: { consecutiveFailures: 1 }
    retry: { attempts: 1 }
`), {}, undefined, { clock: new FakeClock() })
  const call = await admin(gw.app)
  const pool = gw.app.pools.get('web')!
  const opened = once(pool.events, 'circuit')
  t.equal((await send(`${gw.url}/`)).status, 502, 'round robin: flaky first, and it resets')
  const [e] = await within(opened, { message: 'the breaker opened', seen: () => pool.snapshot() })
  t.match(e, { backend: idOf(flaky), to: 'open', state: 'open' })
  t.match(await stateOf(call, idOf(flaky)), { state: 'open', circuit: 'open', ready: false })
  t.match(await stateOf(call, idOf(good)), { state: 'healthy', circuit: 'closed' })
  t.match(await logLine(gw, 'circuit open', idOf(flaky)), { level: 40, state: 'open' })

  t.match((await call('POST', `/admin/pools/web/backends/${idOf(flaky)}/drain`)).json, { state: 'draining', circuit: 'open' })
})
