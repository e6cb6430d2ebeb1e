// StatsD for the edge protocols: TLS handshake failures and certificate expiry, and gRPC calls
// by status, arrive as real UDP packets, as they are in /metrics.
import t from 'tap'
import net from 'node:net'
import { poolYaml, startBackend, startGateway } from './helpers/gateway.js'
import { statsdServer } from './helpers/statsd.js'
import { makePki } from './helpers/pki.js'
import { grpcClient, say, startGrpcBackend } from './helpers/grpc.js'

t.test('TLS: handshake failures by reason and the certificate expiry', async (t) => {
  const statsd = await statsdServer(t)
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }
metrics: { statsd: { host: 127.0.0.1, port: ${statsd.port}, prefix: "gw.", flushInterval: 50ms } }
`))
  // Plain HTTP to the TLS port: a failed handshake (reason http_request).
  await new Promise<void>((resolve) => {
    const s = net.connect(gw.port, '127.0.0.1', () => { s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n') })
    s.on('data', () => {})
    s.on('close', () => { resolve() })
    s.on('error', () => {})
  })
  t.equal(await statsd.waitFor((l) => l.startsWith('gw.tls_handshake_failures.')), 'gw.tls_handshake_failures.http_request:1|c')
  const expiry = await statsd.waitFor((l) => l.startsWith('gw.tls_certificate_expiry_timestamp_seconds.site_test:'))
  const seconds = Number(/:(\d+)\|g$/.exec(expiry)?.[1])
  t.ok(seconds > Date.now() / 1000 && seconds < Date.now() / 1000 + 31 * 86400, 'the expiry, in Unix seconds, within the certificate\'s 30 days')
})

t.test('gRPC calls by pool, route and status; DogStatsD tags', async (t) => {
  const statsd = await statsdServer(t)
  const b = await startGrpcBackend(t, 'g1')
  const gw = await startGateway(t, `listen: { http2: true }
pools:
  orders: { protocol: http2, backends: [ { url: ${b.url} } ] }
routes:
  - { name: echo, match: { pathPrefix: / }, pool: orders }
metrics: { grpcMethods: true, statsd: { host: 127.0.0.1, port: ${statsd.port}, prefix: "gw.", dogstatsd: true, flushInterval: 50ms } }
`)
  const client = grpcClient(t, gw.port)
  await say(client, 'x')
  await say(client, 'fail')
  const ok = await statsd.waitFor((l) => l.startsWith('gw.grpc_requests:') && l.includes('grpc_code:OK'))
  t.match(ok, /^gw\.grpc_requests:1\|c\|#/)
  for (const tag of ['pool:orders', 'route:echo', 'grpc_service:test.v1.Echo', 'grpc_method:Say']) t.ok(ok.includes(tag), `tag ${tag}`)
  t.ok(await statsd.waitFor((l) => l.startsWith('gw.grpc_requests:') && l.includes('grpc_code:INVALID_ARGUMENT')), 'the failed call, by its status')
})
