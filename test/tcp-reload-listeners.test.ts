// A reload reconciles the tcp listeners: unchanged ones are kept (with their connections), new
// ones are bound, removed ones stop accepting and drain; a port that cannot be bound fails the
// reload and changes nothing.
import t from 'tap'
import { deadPort } from './helpers/gateway.js'
import { reloadConfigOf as cfg } from './helpers/reload-config.js'
import { exchange, listenerYaml, occupy, refused, split, startTcpBackends, startTcpGateway, tcpYaml, whoami } from './helpers/tcp.js'

t.test('reload: listeners are kept, added and removed; a port that cannot be bound fails the reload and changes nothing', async (t) => {
  const [t1] = await startTcpBackends(t, 1)
  const opts = { listener: { drainTimeout: '200ms' } }
  const yamlA = tcpYaml([t1!], opts)
  const gw = await startTcpGateway(t, yamlA)
  const A = gw.app.tcpListeners.listeners[0]!
  const held = await whoami(t, gw.tcpPort)
  t.equal(held.name, 't1')

  await gw.app.reloadConfig(cfg(yamlA))
  t.equal(gw.app.tcpListeners.listeners.length, 1)
  t.equal(gw.app.tcpListeners.listeners[0], A, 'the same listener object, same address')
  t.equal(await held.client.echo('after reload 1'), 'after reload 1', 'the open connection keeps echoing')

  const portB = await deadPort()
  const yamlAB = yamlA + listenerYaml(portB)
  await gw.app.reloadConfig(cfg(yamlAB))
  t.same(gw.app.tcpListeners.listeners.map((l) => l.port), [gw.tcpPort, portB], 'a second listener was bound')
  t.equal((await whoami(t, portB)).name, 't1', 'the new listener accepts and pipes')
  t.equal(await held.client.echo('after reload 2'), 'after reload 2')

  // A reload whose last new listener's port is taken fails; the listeners stay as they were.
  const blocker = await occupy(t)
  const portD = await deadPort()
  const bad = tcpYaml([t1!], opts) + listenerYaml(portB) + listenerYaml(portD) + listenerYaml(blocker)
  await t.rejects(gw.app.reloadConfig(cfg(bad)), { code: 'EADDRINUSE' }, 'reloadConfig throws')
  t.same(gw.app.tcpListeners.listeners.map((l) => l.port), [gw.tcpPort, portB], 'the running listeners are unchanged')
  t.equal((await refused(portD)).error, 'ECONNREFUSED', 'the listener bound for the failed reload was closed again')
  t.equal(await held.client.echo('after failed reload'), 'after failed reload', 'the open connection keeps echoing')
  t.equal(split((await exchange(gw.tcpPort, 'whoami\nx')).data).rest, 'x', 'listener A still serves')
  t.equal(split((await exchange(portB, 'whoami\ny')).data).rest, 'y', 'listener B still serves')

  // Removing listener A: it stops accepting, its open connection ends after its drainTimeout.
  await gw.app.reloadConfig(cfg(tcpYaml([t1!], { ...opts, port: portB })))
  t.same(gw.app.tcpListeners.listeners.map((l) => l.port), [portB], 'only B is left')
  t.equal((await refused(gw.tcpPort)).error, 'ECONNREFUSED', 'A refuses new connections')
  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the connection on the removed listener was ended by the gateway (FIN)')
  t.equal(end.error, undefined)
  t.equal((await whoami(t, portB)).name, 't1', 'B still works')
})
