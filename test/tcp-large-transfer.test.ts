// A large transfer through a tcp listener: byte-exact both ways, and counted once it closes.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { scrape } from './helpers/metrics.js'
import { exchange, openTcp, startTcpBackends, startTcpGateway, tcpYaml } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('an 8 MB transfer comes back intact, and its bytes are counted when the connection closes', async (t) => {
  const bs = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml(bs))
  const size = 8 * 1024 * 1024
  const payload = randomBytes(size)
  const r = await exchange(gw.tcpPort, payload, 15_000)
  t.equal(r.error, undefined)
  t.ok(r.ended)
  t.equal(r.data.length, size, 'as many bytes back as sent')
  t.equal(createHash('sha256').update(r.data).digest('hex'), createHash('sha256').update(payload).digest('hex'), 'the same bytes')
  t.equal(bs[0]!.bytesIn, size, 'the backend received every byte')
  await waitFor(() => openTcp(gw.app) === 0, { message: 'the gateway has closed its side', seen: () => openTcp(gw.app) })
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'in' }), size, 'bytes in: all the client sent')
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'out' }), size, 'bytes out: all the client got')
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 1)
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db', backend: bs[0]!.id }), 1)
})
