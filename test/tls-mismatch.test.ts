// The wrong protocol on a port: plain HTTP to a TLS listener gets a plain-text 400 and a close
// (what nginx's 497 is for); a TLS handshake to a plaintext listener gets a 400 and a close.
// Neither reaches a backend, and other clients are served meanwhile.
import t from 'tap'
import { poolYaml, rawExchange, send, startBackend, startGateway } from './helpers/gateway.js'
import { makePki } from './helpers/pki.js'
import { handshake, httpsGet } from './helpers/tls.js'
import { scrape } from './helpers/metrics.js'

t.test('plain HTTP sent to a TLS port: 400 GW_PLAIN_HTTP_ON_TLS in plain text, then a close', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:\n  tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] }\n`))
  const open = await handshake(gw.port, { servername: 'site.test', ca: pki.ca.cert }) // another client, mid-session
  const r = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: site.test\r\n\r\n')
  t.match(r.text, /^HTTP\/1\.1 400 Bad Request\r\n/, 'a plain-text 400')
  t.match(r.text, /"error":"GW_PLAIN_HTTP_ON_TLS"/)
  t.ok(r.closed, 'and the connection is closed')
  t.equal(b.seen.length, 0, 'nothing reached the backend')
  t.equal((await httpsGet(gw.port, '/', { servername: 'site.test', ca: pki.ca.cert })).status, 200, 'HTTPS clients are served')
  t.ok(open.socket.writable, 'the other open TLS connection is untouched')
  open.socket.destroy()
  t.equal((await scrape(gw.app)).value('gateway_tls_handshake_failures_total', { reason: 'http_request' }), 1, 'counted as a handshake failure')
})

t.test('a TLS handshake sent to a plaintext port: 400 GW_TLS_ON_PLAIN_PORT and a close', async (t) => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b]))
  const pki = makePki(t.testdir())
  await t.rejects(handshake(gw.port, { servername: 'site.test', ca: pki.ca.cert }), 'the TLS client fails')
  // The same bytes a TLS client sends first (a ClientHello record header), read raw.
  const hello = Buffer.from('16030100c4010000c00303', 'hex')
  const r = await rawExchange(gw.port, Buffer.concat([hello, Buffer.alloc(64, 0x41)]))
  t.match(r.text, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(r.text, /"error":"GW_TLS_ON_PLAIN_PORT"/)
  t.ok(r.closed)
  t.equal(b.seen.length, 0)
  t.equal((await send(gw.url + '/')).status, 200, 'plain clients are served')
})
