// least-connections over tcp backends counts the connections open on each.
import t from 'tap'
import { snapshotOf, startTcpBackends, startTcpGateway, tcpYaml, whoami } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('least-connections balances open connections', async (t) => {
  const bs = await startTcpBackends(t, 3)
  const gw = await startTcpGateway(t, tcpYaml(bs, { algorithm: 'least-connections' }))
  const held = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(held.map((h) => h.name).sort(), ['t1', 't2', 't3'], 'one each while all are idle')

  const onT2 = held.find((h) => h.name === 't2')!
  onT2.client.end()
  await onT2.client.waitClosed()
  await waitFor(() => snapshotOf(gw.app, bs[1]!.id).tcpConnections === 0, { message: 't2 has no open connection', seen: () => snapshotOf(gw.app, bs[1]!.id) })
  const next = await whoami(t, gw.tcpPort)
  t.equal(next.name, 't2', 'the new connection goes to the backend with none open')

  const more = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(more.map((h) => h.name).sort(), ['t1', 't2', 't3'], 'at one each, one more each')
  t.same(bs.map((b) => snapshotOf(gw.app, b.id).tcpConnections), [2, 2, 2])

  const onT3 = [...held, next, ...more].filter((h) => h.name === 't3')
  t.equal(onT3.length, 2)
  for (const h of onT3) h.client.end()
  await Promise.all(onT3.map(async (h) => await h.client.waitClosed()))
  await waitFor(() => snapshotOf(gw.app, bs[2]!.id).tcpConnections === 0, { message: 't3 has no open connection', seen: () => snapshotOf(gw.app, bs[2]!.id) })
  const last = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(last.map((h) => h.name), ['t3', 't3'], 'with t3 at 0 and 1 and the others at 2, both go to t3')
})
