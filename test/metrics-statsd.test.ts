import t from 'tap'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'
import { waitFor } from './helpers/wait.js'
import { statsdServer } from './helpers/statsd.js'

t.test('plain StatsD: counters, timings and gauges arrive as UDP packets', async (t) => {
  const statsd = await statsdServer(t)
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b], `metrics: { statsd: { host: 127.0.0.1, port: ${statsd.port}, prefix: "gw.", flushInterval: 50ms } }\n`))
  for (let i = 0; i < 3; i++) t.equal((await send(gw.url + '/')).status, 200)
  const id = `127_0_0_1_${b.port}`
  await statsd.waitFor((l) => l === `gw.requests.web.${id}.GET.200:1|c`)
  t.equal(statsd.lines.filter((l) => l === `gw.requests.web.${id}.GET.200:1|c`).length >= 1, true, 'request counter')
  t.match(await statsd.waitFor((l) => l.startsWith('gw.request_duration.web:')), /^gw\.request_duration\.web:[\d.]+\|ms$/, 'request timing in ms')
  t.match(await statsd.waitFor((l) => l.startsWith(`gw.backend_response.web.${id}:`)), /\|ms$/, 'backend RTT timing')
  // Gauges come every flushInterval; once the requests are done they read 0 in flight.
  t.equal(await statsd.waitFor((l) => l === `gw.in_flight.web.${id}:0|g`), `gw.in_flight.web.${id}:0|g`, 'in-flight gauge')
  t.equal(await statsd.waitFor((l) => l === `gw.backend_up.web.${id}:1|g`), `gw.backend_up.web.${id}:1|g`, 'backend up gauge')
  t.equal(await statsd.waitFor((l) => l.startsWith('gw.backends_healthy.web:')), 'gw.backends_healthy.web:1|g')
  t.equal(await statsd.waitFor((l) => l.startsWith('gw.pool_panic.web:')), 'gw.pool_panic.web:0|g', 'panic gauge: not in panic')
  t.match(await statsd.waitFor((l) => l.startsWith('gw.process.rss_bytes:')), /^gw\.process\.rss_bytes:\d+\|g$/, 'memory gauge')
  t.match(await statsd.waitFor((l) => l.startsWith('gw.process.cpu_percent:')), /\|g$/, 'CPU gauge')
  // Counters are flushed in their own packets: wait until the three have arrived (or more would).
  const counted = (): number => statsd.lines.filter((l) => l.startsWith('gw.requests.')).reduce((n, l) => n + Number(l.split(':')[1]!.split('|')[0]), 0)
  await waitFor(() => counted() >= 3, { message: 'three request counts arrived', seen: counted })
  t.equal(counted(), 3, 'three requests counted in all')
})

t.test('DogStatsD: pool, backend, method and code as tags', async (t) => {
  const statsd = await statsdServer(t)
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b], `metrics: { statsd: { port: ${statsd.port}, prefix: "", dogstatsd: true, tags: { env: test }, flushInterval: 50ms } }\n`))
  await send(gw.url + '/')
  const line = await statsd.waitFor((l) => l.startsWith('requests:'))
  t.equal(line, `requests:1|c|#env:test,pool:web,backend:127_0_0_1_${b.port},method:GET,code:200`)
})

t.test('an unreachable StatsD server never breaks or slows requests', async (t) => {
  const statsd = await statsdServer(t)
  const port = statsd.port
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b], `metrics: { statsd: { host: 127.0.0.1, port: ${port}, flushInterval: 20ms } }\n`))
  // Close the receiver: packets now go nowhere (ICMP port unreachable).
  statsd.close()
  for (let i = 0; i < 20; i++) t.equal((await send(gw.url + '/')).status, 200)
  const bad = await startGateway(t, poolYaml([b], 'metrics: { statsd: { host: no-such-host.invalid, port: 8125, flushInterval: 20ms } }\n'))
  for (let i = 0; i < 5; i++) t.equal((await send(bad.url + '/')).status, 200, 'a host that does not resolve changes nothing either')
})
