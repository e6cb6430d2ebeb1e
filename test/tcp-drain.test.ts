// An admin drain of a tcp backend: new connections avoid it, and its open connection is ended
// (FIN both ways) after the listener's drainTimeout.
import t from 'tap'
import { exchange, snapshotOf, startTcpBackends, startTcpGateway, tcpYaml, whoami } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('drain: the open connection to a drained backend is ended after drainTimeout; new ones go elsewhere', async (t) => {
  const bs = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml(bs, { listener: { drainTimeout: '200ms' } }))
  const held = await whoami(t, gw.tcpPort)
  const drained = bs.find((b) => b.name === held.name)!
  const other = bs.find((b) => b !== drained)!
  const r = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(drained.id)}/drain` })
  t.equal(r.statusCode, 202)
  t.equal(r.json().draining, true)
  t.equal(r.json().tcpConnections, 1, 'the connection is still open when the drain starts')

  const fresh = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(fresh.map((h) => h.name), [other.name, other.name, other.name], 'new connections avoid the draining backend')

  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the gateway ended the drained connection with a FIN')
  t.equal(end.error, undefined, 'not a reset')
  t.ok(drained.endsSeen >= 1, 'the backend got a FIN from the gateway too')
  await waitFor(() => snapshotOf(gw.app, drained.id).tcpConnections === 0 && snapshotOf(gw.app, drained.id).inFlight === 0,
    { message: 'the drained backend has nothing open', seen: () => snapshotOf(gw.app, drained.id) })
  for (const h of fresh) t.notOk(h.client.socket.destroyed || h.client.ended, `the connection to ${other.name} is untouched`)
  t.equal(await fresh[0]!.client.echo('still'), 'still')

  const r2 = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(other.id)}/drain` })
  t.equal(r2.statusCode, 202)
  const none = await exchange(gw.tcpPort, 'whoami\n')
  t.equal(none.data.length, 0, 'with every backend draining a new connection gets nothing')
  t.equal(none.error, 'ECONNRESET', 'it is reset')
  t.ok(gw.logs.some((l) => l.msg === 'tcp connection refused: no backend available'), 'and logged')
})
