// WebSocket over the TLS listener (wss://): the upgrade is proxied over HTTP/1.1 inside TLS,
// and the backend is told the client used https.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { WebSocket, type ClientOptions } from 'ws'
import { startGateway } from './helpers/gateway.js'
import { makePki } from './helpers/pki.js'
import { roundTrip, startWsBackend, wsYaml } from './helpers/ws.js'

t.test('wss:// through a TLS listener reaches a ws:// backend and echoes', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const backend = await startWsBackend(t, 'w1')
  const gw = await startGateway(t, wsYaml([backend], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))
  // ws hands TLS options (servername among them) on to tls.connect.
  const tlsOptions = { ca: readFileSync(pki.ca.cert), servername: 'site.test', headers: { host: 'site.test' } } as ClientOptions
  const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/chat`, tlsOptions)
  t.teardown(() => { ws.terminate() })
  await once(ws, 'open')
  t.equal(await roundTrip(ws, 'hello over tls'), 'hello over tls')
  t.equal(await roundTrip(ws, 'whoami'), 'w1')
  t.equal(backend.upgrades[0]!['x-forwarded-proto'], 'https', 'the upgrade says https')
  ws.close(1000)
  await once(ws, 'close')
})
