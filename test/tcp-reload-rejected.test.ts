// A reload rejected because a tcp port is taken changes nothing in the running pool.
//
// Regression: plugins/reload.ts apply() used to build the new BackendPools (which take over the
// running pool's algorithm instance and backends, and update/reset them) before
// tcpListeners.prepare() bound the new ports, so a failed bind left the running pool with the
// rejected config's backend list in its algorithm and with its API drains undone. It now binds
// first (see its comment).
import t from 'tap'
import { reloadConfigOf as cfg } from './helpers/reload-config.js'
import { exchange, listenerYaml, occupy, snapshotOf, split, startTcpBackends, startTcpGateway, tcpYaml } from './helpers/tcp.js'

t.test('a reload rejected because a tcp port is taken leaves the running pool as it was', async (t) => {
  const [t1, t2, t3] = await startTcpBackends(t, 3)
  const gw = await startTcpGateway(t, tcpYaml([t1!, t2!]))
  const r = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(t2!.id)}/drain` })
  t.equal(r.statusCode, 202)
  const blocker = await occupy(t)
  const bad = tcpYaml([t1!, t2!, t3!]) + listenerYaml(blocker)
  await t.rejects(gw.app.reloadConfig(cfg(bad)), { code: 'EADDRINUSE' }, 'the reload is rejected')
  t.same(gw.app.pools.get('db')!.backends.map((b) => b.id), [t1!.id, t2!.id], 'the running pool keeps its backends')
  t.equal(snapshotOf(gw.app, t2!.id).draining, true, 'the API drain of t2 still holds')
  const names: string[] = []
  for (let i = 0; i < 6; i++) names.push(split((await exchange(gw.tcpPort, 'whoami\n')).data).name)
  t.same(names, ['t1', 't1', 't1', 't1', 't1', 't1'], 'new connections go only to the running pool\'s ready backend')
  t.equal(t2!.accepted, 0, 'none to the drained backend')
  t.equal(t3!.accepted, 0, 'none to the backend only the rejected config had')
})
