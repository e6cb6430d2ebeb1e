// A client that leaves while its tcp backend connect is pending cancels the connect: nothing
// stays in flight, the backend is not blamed, and no connection is opened for it
// (lib/tcp/pending.ts). A client that sent bytes and then half-closed has not left: its bytes
// and its FIN are forwarded once connected.
import t, { type Test } from 'tap'
import { scrape } from './helpers/metrics.js'
import { connecting, snapshotOf, startSlowTcpBackend, startTcpGateway, tcpClient, tcpYaml, type TcpClient, type TcpGateway } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

const OPTS = { poolExtra: '    timeouts: { connect: 10s }\n', listener: { drainTimeout: '200ms', idleTimeout: 0 } }

/** A gateway whose one backend connects late; undefined (test skipped) where that cannot be arranged. */
async function slowGateway (t: Test): Promise<{ gw: TcpGateway, id: string } | undefined> {
  const slow = await startSlowTcpBackend(t)
  const gw = await startTcpGateway(t, tcpYaml([slow], OPTS))
  if (!await slow.stall(700)) {
    t.pass('delayed backend connects', { skip: 'could not delay connects to the backend on this system' })
    return undefined
  }
  return { gw, id: slow.id }
}

async function whileConnecting (t: Test, gw: TcpGateway, id: string, leave: (c: TcpClient) => void, opts: { allowHalfOpen?: boolean } = {}): Promise<TcpClient> {
  const c = tcpClient(t, gw.tcpPort, opts)
  await c.connected
  await waitFor(() => connecting(gw.app, id), { message: 'the gateway is connecting to the backend', seen: () => snapshotOf(gw.app, id) })
  leave(c)
  t.ok(connecting(gw.app, id), 'the connect is pending when the client acts')
  return c
}

async function assertCancelled (t: Test, gw: TcpGateway, id: string, c: TcpClient): Promise<void> {
  await waitFor(() => snapshotOf(gw.app, id).inFlight === 0,
    { message: 'nothing in flight once the client has left', seen: () => snapshotOf(gw.app, id) })
  t.equal(snapshotOf(gw.app, id).errors, 0, 'an abandoned connect is not a backend failure')
  await c.waitClosed()
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 0, 'no connection was opened for the client that left')
  t.equal(m.value('gateway_upstream_errors_total', { pool: 'db' }), 0, 'and no upstream error counted')
  t.equal(gw.logs.filter((l) => l.msg === 'tcp client left while its backend connect was pending: connect cancelled').length, 1, 'one log line says so')
}

t.test('a client that closes (FIN) before sending anything cancels the pending connect', async (t) => {
  const s = await slowGateway(t)
  if (s === undefined) return
  // The FIN is sent at once; the gateway reads it while its connect waits.
  const c = await whileConnecting(t, s.gw, s.id, (c) => { c.end() })
  await assertCancelled(t, s.gw, s.id, c)
})

t.test('a client that resets before sending anything cancels the pending connect', async (t) => {
  const s = await slowGateway(t)
  if (s === undefined) return
  // An RST after bytes the gateway has not read yet reads as those bytes and a FIN (Linux), which
  // is a request to forward (below); with nothing sent the reset is a leave whichever way it reads.
  const c = await whileConnecting(t, s.gw, s.id, (c) => { c.reset() })
  await assertCancelled(t, s.gw, s.id, c)
})

t.test('a client that sends bytes and half-closes gets them forwarded once connected', async (t) => {
  const s = await slowGateway(t)
  if (s === undefined) return
  const c = await whileConnecting(t, s.gw, s.id, (c) => { c.end('a request ended by FIN') }, { allowHalfOpen: true })
  t.equal(await c.waitFor('a request ended by FIN', 10_000), 'a request ended by FIN', 'the echo backend got the bytes sent before the connect, and answered')
  const end = await c.waitClosed(10_000)
  t.equal(end.ended, true, 'the FIN reached the backend, whose FIN came back')
  const m = await scrape(s.gw.app)
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 1, 'one connection opened')
  t.equal(snapshotOf(s.gw.app, s.id).errors, 0)
})
