// Round-robin over tcp backends: connections take turns, and every byte of each comes back.
import t from 'tap'
import { exchange, split, startTcpBackends, startTcpGateway, tally, tcpYaml } from './helpers/tcp.js'

t.test('round-robin over three tcp backends: every connection is echoed, each backend gets two', async (t) => {
  const bs = await startTcpBackends(t, 3)
  const gw = await startTcpGateway(t, tcpYaml(bs))
  const names: string[] = []
  for (let i = 0; i < 6; i++) {
    const payload = `connection ${i}: ` + 'x'.repeat(1000 * i) + '\u00e9\u20ac'
    const r = await exchange(gw.tcpPort, 'whoami\n' + payload)
    t.equal(r.error, undefined, `connection ${i} closed cleanly`)
    t.ok(r.ended, `connection ${i} ended with a FIN`)
    const { name, rest } = split(r.data)
    t.equal(rest, payload, `connection ${i}: the bytes came back unchanged`)
    names.push(name)
  }
  t.same(names, ['t1', 't2', 't3', 't1', 't2', 't3'], 'round-robin order')
  t.same(tally(names), { t1: 2, t2: 2, t3: 2 })
  t.same(bs.map((b) => b.accepted), [2, 2, 2], 'each backend accepted two connections')
})
