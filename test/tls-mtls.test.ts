// Client certificates (mTLS) on a TLS listener: require refuses clients without a certificate
// the CA signed; request lets them through; the verified subject reaches the backend in the
// header the operator names, and a client cannot forge that header.
import t from 'tap'
import { poolYaml, startBackend, startGateway } from './helpers/gateway.js'
import { makePki } from './helpers/pki.js'
import { handshake, httpsGet } from './helpers/tls.js'
import { scrape } from './helpers/metrics.js'

t.test('mode require: a client certificate from the CA is needed; its subject is forwarded', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const alice = pki.issue('alice', { cn: 'alice', client: true })
  const rogueCa = pki.otherCa('rogue-ca')
  const mallory = pki.issue('mallory', { cn: 'mallory', client: true, ca: rogueCa })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  tls:
    certificates: [ { cert: ${site.cert}, key: ${site.key} } ]
    clientCertificate: { mode: require, ca: ${pki.ca.cert}, header: X-Client-Subject }
`))
  const ok = await httpsGet(gw.port, '/', { servername: 'site.test', ca: pki.ca.cert, client: alice, headers: { 'x-client-subject': 'CN=admin' } })
  t.equal(ok.status, 200)
  t.equal(b.seen.at(-1)!.headers['x-client-subject'], 'CN=alice', 'the verified subject, not the one the client sent')
  await t.rejects(httpsGet(gw.port, '/', { servername: 'site.test', ca: pki.ca.cert }), 'no client certificate: the handshake fails')
  await t.rejects(httpsGet(gw.port, '/', { servername: 'site.test', ca: pki.ca.cert, client: mallory }), 'a certificate from another CA: refused')
  t.equal(b.seen.length, 1, 'refused clients reached no backend')
  const m = await scrape(gw.app)
  t.ok(m.value('gateway_tls_handshake_failures_total', { reason: 'client_certificate' }) >= 1, 'handshake failures counted by reason')
})

t.test('mode request: clients without a certificate pass, with no subject header', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const alice = pki.issue('alice', { cn: 'alice', client: true })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  tls:
    certificates: [ { cert: ${site.cert}, key: ${site.key} } ]
    clientCertificate: { mode: request, ca: ${pki.ca.cert}, header: x-client-subject }
`))
  const anon = await httpsGet(gw.port, '/', { servername: 'site.test', ca: pki.ca.cert, headers: { 'x-client-subject': 'CN=forged' } })
  t.equal(anon.status, 200)
  t.equal(b.seen.at(-1)!.headers['x-client-subject'], undefined, 'no verified certificate: the header is removed, not passed on')
  t.equal((await httpsGet(gw.port, '/', { servername: 'site.test', ca: pki.ca.cert, client: alice })).status, 200)
  t.equal(b.seen.at(-1)!.headers['x-client-subject'], 'CN=alice')
})

t.test('clientCertificate needs a CA unless it is off', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const { loadConfigText } = await import('../lib/config/load.js')
  t.throws(() => loadConfigText(poolYaml([{ url: 'http://127.0.0.1:9' }], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ], clientCertificate: { mode: require } }\n`), { env: {} }),
    { message: /listen\.tls\.clientCertificate\.ca: is required with mode require/ })
  const h = await handshake((await startGateway(t, poolYaml([await startBackend(t, 'b')], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))).port, { servername: 'site.test', ca: pki.ca.cert })
  t.ok(h.authorized, 'mode off (default): no client certificate asked')
  h.socket.destroy()
})
