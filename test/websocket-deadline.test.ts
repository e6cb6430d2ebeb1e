// The request deadline (timeouts.request) bounds WebSocket handshake failover: a backoff never
// outlasts it (docs/resilience.md#deadlines). Wide time bounds only; tests do not assert tight timings.
import t from 'tap'
import { performance } from 'node:perf_hooks'
import { deadUrl, startGateway } from './helpers/gateway.js'
import { open, roundTrip, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

t.test('a 60 s backoff is cut to the deadline: the handshake fails over in time', async (t) => {
  const live = await startWsBackend(t, 'live')
  const dead = await deadUrl()
  const gw = await startGateway(t, wsYaml([{ url: dead }, live], '',
    '    timeouts: { request: 800ms }\n    retry: { attempts: 2, backoff: { base: 60s, max: 60s } }\n'))
  const start = performance.now()
  const ws = await open(t, wsUrl(gw.port))
  const ms = performance.now() - start
  t.equal(await roundTrip(ws, 'whoami'), 'live')
  t.ok(ms < 1600, `the failover happened within the deadline (${Math.round(ms)} ms)`)
  ws.close()
})
