import t from 'tap'
import net from 'node:net'
import { loadConfigText } from '../lib/config/load.js'
import { deadPort, poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'
import { within } from './helpers/wait.js'

async function refused (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => { resolve(true) })
  })
}

t.test('a changed listen address is bound before the old one closes; requests in flight finish', async (t) => {
  // /slow is answered only once the test releases it, so it is in flight across the reload.
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let gotSlow!: () => void
  const arrived = new Promise<void>((resolve) => { gotSlow = resolve })
  const b = await startBackend(t, 'b1', (req, res) => {
    if (req.url !== '/slow') return res.end('b1')
    gotSlow()
    void held.then(() => res.end('b1'))
  })
  const gw = await startGateway(t, poolYaml([b]))
  t.teardown(release) // before the gateway closes (teardowns run last first), should a step fail
  const oldPort = gw.port
  const newPort = await deadPort()
  const inFlight = send(`http://127.0.0.1:${oldPort}/slow`)
  await within(arrived, { message: 'the backend got the /slow request' })

  const next = loadConfigText(poolYaml([b], `listen: { host: 127.0.0.1, port: ${newPort}, keepAliveTimeout: 5s }\n`), { env: {} })
  const summary = await gw.app.reloadConfig(next)
  t.same(summary.needsRestart, [], 'the listen section no longer needs a restart')
  t.equal((await send(`http://127.0.0.1:${newPort}/`)).text, 'b1', 'the new address serves')
  release()
  const r = await inFlight
  t.equal(r.status, 200, 'the request in flight on the old address finished')
  t.ok(await refused(oldPort), 'the old address takes no new connections')
  t.equal((gw.app.traffic.server().address() as net.AddressInfo).port, newPort)
})

t.test('a listen address that cannot be bound fails the reload; the old one keeps serving', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  const taken = net.createServer()
  await new Promise<void>((resolve) => { taken.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { taken.close() })
  const port = (taken.address() as net.AddressInfo).port
  const next = loadConfigText(poolYaml([b, { url: 'http://127.0.0.1:9' }], `listen: { host: 127.0.0.1, port: ${port} }\n`), { env: {} })
  await t.rejects(gw.app.reloadConfig(next), { code: 'EADDRINUSE' })
  t.equal((await send(gw.url + '/')).text, 'b1')
  t.equal(gw.app.pools.get('web')!.backends.length, 1, 'nothing of the refused config was applied')
})

t.test('changed limits on the same address apply in place', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  const next = loadConfigText(poolYaml([b], 'listen: { host: 127.0.0.1, port: 0, keepAliveTimeout: 7s, headersTimeout: 3s }\n'), { env: {} })
  await gw.app.reloadConfig(next)
  t.equal(gw.app.traffic.server().keepAliveTimeout, 7000)
  t.equal(gw.app.traffic.server().headersTimeout, 3000)
  t.equal((await send(gw.url + '/')).text, 'b1', 'the same listener keeps serving')
})
