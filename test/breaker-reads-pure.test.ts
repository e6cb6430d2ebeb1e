// Reading state never changes it (issue 13): an open breaker whose open time is over stays open
// through a hundred /metrics scrapes and admin reads over real HTTP; only a request, the one
// path that applies the time rule, moves it on to half-open (and here, its trial passing, to
// closed). The breaker reads the pool's clock, a FakeClock: the open time passes when the test
// moves it.
import t from 'tap'
import { FakeClock } from './helpers/fake-clock.js'
import { admin } from './helpers/admin.js'
import { scrape } from './helpers/metrics.js'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'

t.test('scrapes and admin reads leave an expired open breaker open; the next request moves it', async (t) => {
  let broken = true
  const b = await startBackend(t, 'b', (_req, res) => { if (broken) res.socket?.destroy(); else res.end('b') })
  const clock = new FakeClock()
  const gw = await startGateway(t, poolYaml([b], '', `    circuitBreaker: { consecutiveFailures: 1, openDuration: 1s, halfOpenRequests: 1 }
    retry: { attempts: 1 }
`), {}, undefined, { clock })
  const pool = gw.app.pools.get('web')!
  const changes: string[] = []
  pool.events.on('circuit', (e) => { changes.push(`${e.from}>${e.to} (${e.reason})`) })
  const call = await admin(gw.app)
  const labels = { pool: 'web', backend: `127.0.0.1:${b.port}` }

  t.equal((await send(`${gw.url}/trip`)).status, 502)
  t.same(changes, ['closed>open (consecutive-failures)'])
  clock.advance(5000) // well past the 1 s open time

  const gauges: number[] = []
  for (let i = 0; i < 100; i++) gauges.push((await scrape(gw.app)).value('gateway_circuit_state', labels))
  t.same(gauges, Array.from({ length: 100 }, () => 1), 'every scrape reports it open (1)')
  const read = (await call('GET', '/admin/pools/web')).json.backends[0]
  t.match(read, { circuit: 'open', state: 'open' }, 'the admin API reports it open')
  t.equal(read.ready, true, 'ready: its open time is over, so the next request may be its trial')
  t.equal((await call('GET', '/admin/pools')).json.pools[0].backends[0].circuit, 'open')
  t.equal((await call('GET', '/readyz')).status, 200, '/readyz counts it ready, and moves nothing either')
  t.same(changes, ['closed>open (consecutive-failures)'], 'no read fired a transition')
  t.notOk(gw.logs.some((l) => l.msg === 'circuit half-open'), 'nor logged one')

  broken = false
  const r = await send(`${gw.url}/trial`)
  t.equal(r.text, 'b', 'the request went to the backend as its trial')
  t.same(changes, ['closed>open (consecutive-failures)', 'open>half-open (open-timeout)', 'half-open>closed (trials-passed)'],
    'the request applied the time rule, then its passing trial closed the breaker')
  t.equal((await scrape(gw.app)).value('gateway_circuit_state', labels), 0)
  t.match((await call('GET', '/admin/pools/web')).json.backends[0], { circuit: 'closed', state: 'healthy' })
})
