// A client that leaves while its tcp backend connect is pending: nothing stays in flight and
// the backend is not blamed. One assertion marked { todo } documents a known limitation.
//
// lib/tcp/listener.ts accepts with pauseOnConnect and only resumes the client socket once the
// backend connect succeeded, so while connecting it does not read: a client that leaves (FIN)
// is not noticed, `clientGone` never runs, and the connect goes on, keeps its in-flight slot and
// opens a connection to the backend that is torn down right away.
import t from 'tap'
import { scrape } from './helpers/metrics.js'
import { connecting, snapshotOf, startSlowTcpBackend, startTcpGateway, tcpClient, tcpYaml } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

const ABANDONED_BUG = 'known limitation: a client that closes while its backend connect is pending is not noticed (paused socket), so the connect is not abandoned (lib/tcp/listener.ts dial)'

t.test('a client that leaves while its backend connect is pending leaves nothing in flight', async (t) => {
  const slow = await startSlowTcpBackend(t)
  const opts = { poolExtra: '    timeouts: { connect: 10s }\n', listener: { drainTimeout: '200ms', idleTimeout: 0 } }
  const g4 = await startTcpGateway(t, tcpYaml([slow], opts)) // the client leaves while connecting
  if (!await slow.stall(700)) {
    t.pass('delayed backend connects', { skip: 'could not delay connects to the backend on this system' })
    return
  }
  const c4 = tcpClient(t, g4.tcpPort)
  c4.write('four')
  await waitFor(() => connecting(g4.app, slow.id), { message: 'the gateway is connecting to the backend' })

  // While the connect is pending: the client leaves.
  c4.end()
  t.ok(connecting(g4.app, slow.id), 'the connects were still pending')

  await waitFor(() => snapshotOf(g4.app, slow.id).inFlight === 0,
    { message: 'gateway 4: nothing in flight once the client has left', seen: () => snapshotOf(g4.app, slow.id) })
  t.equal(snapshotOf(g4.app, slow.id).errors, 0, 'an abandoned connect is not a backend failure')
  const m4 = await scrape(g4.app)
  t.equal(m4.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 0, 'gateway 4 gave up the connect of the client that left, and opened no connection for it', { todo: ABANDONED_BUG })
})
