// A reload that changes a kept tcp listener's pool: new connections use the new pool, open ones
// stay where they are, and a backend the reload removed is drained.
import t from 'tap'
import { reloadConfigOf as cfg } from './helpers/reload-config.js'
import { startTcpBackends, startTcpGateway, tcpYaml, whoami, type TcpBackend } from './helpers/tcp.js'
import { waitFor } from './helpers/wait.js'

t.test('reload: a kept listener takes its new pool for new connections; a backend the reload removed is drained', async (t) => {
  const [t1, t2] = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml([t1!], { listener: { drainTimeout: '200ms' } }))
  const A = gw.app.tcpListeners.listeners[0]!
  const held = await whoami(t, gw.tcpPort)
  t.equal(held.name, 't1')
  const two = (db: TcpBackend, other: TcpBackend): string => `pools:
  db:
    backends: [ { url: "${db.url}" } ]
  other:
    backends: [ { url: "${other.url}" } ]
tcp:
  - listen: { host: 127.0.0.1, port: 0 }
    pool: other
    drainTimeout: 200ms
`
  await gw.app.reloadConfig(cfg(two(t1!, t2!)))
  t.equal(gw.app.tcpListeners.listeners[0], A, 'the listener is kept')
  t.same([(await whoami(t, gw.tcpPort)).name, (await whoami(t, gw.tcpPort)).name], ['t2', 't2'], 'new connections use the listener\'s new pool')
  t.equal(await held.client.echo('kept'), 'kept', 'the open connection to t1 (still in pool db) is untouched')

  await gw.app.reloadConfig(cfg(two(t2!, t2!)))
  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the connection to t1, which the reload removed, was ended by the gateway (FIN)')
  t.equal(end.error, undefined)
  await waitFor(() => t1!.open === 0, { message: 't1 has no connection left', seen: () => t1!.open })
})
