// TLS termination on a client listener: SNI picks the certificate (exact, wildcard, default),
// requests are proxied with X-Forwarded-Proto https, encrypted keys open with their passphrase,
// and a plaintext and a TLS listener serve side by side, the plaintext one redirecting.
import t from 'tap'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'
import { makePki } from './helpers/pki.js'
import { handshake, httpsGet } from './helpers/tls.js'
import { scrape } from './helpers/metrics.js'
import { waitFor } from './helpers/wait.js'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'

t.test('SNI chooses the exact name, then a wildcard, else the first certificate', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test', 'www.site.test'] })
  const wild = pki.issue('wild', { names: ['*.apps.test'], passphrase: 'open sesame' })
  const exact = pki.issue('exact', { names: ['one.apps.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  tls:
    certificates:
      - { cert: ${site.cert}, key: ${site.key} }
      - { cert: ${wild.cert}, key: ${wild.key}, passphrase: "\${WILD_PASS}" }
      - { cert: ${exact.cert}, key: ${exact.key} }
`), { WILD_PASS: 'open sesame' })
  t.match(gw.url, /^https:/)
  /** The CN of the certificate served for `servername`; `covered`: it should verify for that name. */
  const cnFor = async (servername: string | undefined, covered = true): Promise<string> => {
    const h = await handshake(gw.port, { servername, ca: pki.ca.cert })
    h.socket.destroy()
    if (covered) t.ok(h.authorized, `the certificate for ${servername ?? 'no SNI'} verifies (${h.authorizationError ?? 'ok'})`)
    return String(h.cert.subject.CN)
  }
  t.equal(await cnFor('www.site.test'), 'site.test', 'an exact SAN of the first certificate')
  t.equal(await cnFor('two.apps.test'), '*.apps.test', 'a wildcard, from an encrypted key')
  t.equal(await cnFor('ONE.apps.test'), 'one.apps.test', 'an exact name wins over the wildcard, any case')
  t.equal(await cnFor('a.b.apps.test', false), 'site.test', 'a wildcard covers one label only: the default')
  t.equal(await cnFor('unknown.test', false), 'site.test', 'an unknown name gets the default')
  t.equal(await cnFor(undefined, false), 'site.test', 'no SNI gets the default')

  const r = await httpsGet(gw.port, '/hello', { servername: 'x.apps.test', ca: pki.ca.cert })
  t.equal(r.status, 200)
  t.equal(r.text, 'b')
  t.equal(b.seen.at(-1)!.headers['x-forwarded-proto'], 'https', 'the backend is told the client used https')
  t.equal(b.seen.at(-1)!.headers.host, 'x.apps.test')

  const m = await scrape(gw.app)
  const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(wild.cert)).validTo) / 1000)
  t.equal(m.value('gateway_tls_certificate_expiry_timestamp_seconds', { name: '*.apps.test' }), notAfter, 'expiry of each certificate, by its first name')
  t.equal(m.families.get('gateway_tls_certificate_expiry_timestamp_seconds')?.metrics.length, 3)
})

t.test('sessions resume with tickets; a rotated ticket key ends resumption of older sessions', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  - { port: 8443, tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ], ticketKeyRotation: 0 } }
  - { port: 9443, tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ], ticketKeyRotation: 200ms } }
`))
  const [steady, rotating] = gw.app.traffic.servers().map((s) => (s.address() as { port: number }).port)
  /** A handshake offering `session`: whether it was resumed, and (first handshakes) the ticket the server sent. */
  const connect = async (port: number, session?: Buffer): Promise<{ reused: boolean, session: Buffer }> => await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'site.test', ca: readFileSync(pki.ca.cert), ...(session !== undefined ? { session } : {}) })
    socket.once('error', reject)
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused()
      if (session !== undefined) {
        socket.destroy()
        resolve({ reused, session })
        return
      }
      // TLS 1.3 tickets come after the handshake.
      socket.once('session', (s: Buffer) => {
        socket.destroy()
        resolve({ reused, session: s })
      })
    })
  })
  const first = await connect(steady!)
  t.equal(first.reused, false)
  t.equal((await connect(steady!, first.session)).reused, true, 'a ticket resumes the session')
  const old = await connect(rotating!)
  await waitFor(async () => !(await connect(rotating!, old.session)).reused, { message: 'after a key rotation the old ticket no longer resumes' })
  t.pass('the rotated key refused the old ticket')
})

t.test('TLS 1.2 is the default floor; minVersion TLSv1.3 refuses 1.2 clients', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  - { port: 8443, tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] } }
  - { port: 9443, tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ], minVersion: TLSv1.3 } }
`))
  const [first, second] = gw.app.traffic.servers().map((s) => (s.address() as { port: number }).port)
  const h12 = await handshake(first!, { servername: 'site.test', ca: pki.ca.cert, maxVersion: 'TLSv1.2' })
  t.equal(h12.protocol, 'TLSv1.2')
  h12.socket.destroy()
  await t.rejects(handshake(first!, { servername: 'site.test', ca: pki.ca.cert, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }), 'TLS 1.1 is refused by default')
  await t.rejects(handshake(second!, { servername: 'site.test', ca: pki.ca.cert, maxVersion: 'TLSv1.2' }), 'TLS 1.2 is refused with minVersion TLSv1.3')
  const h13 = await handshake(second!, { servername: 'site.test', ca: pki.ca.cert })
  t.equal(h13.protocol, 'TLSv1.3')
  t.equal(h13.alpn, false, 'no ALPN asked, none chosen')
  h13.socket.destroy()
  const alpn = await handshake(first!, { servername: 'site.test', ca: pki.ca.cert, alpn: ['http/1.1'] })
  t.equal(alpn.alpn, 'http/1.1', 'ALPN http/1.1')
  alpn.socket.destroy()
})

t.test('a plaintext listener redirects to the TLS one with 308, same host and path', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  - { port: 80, redirect: https }
  - { port: 443, tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] } }
`))
  const [plain, secure] = gw.app.traffic.servers().map((s) => (s.address() as { port: number }).port)
  const r = await send(`http://127.0.0.1:${plain!}/a/b?c=d`, { method: 'POST', headers: { host: 'site.test:8080' }, body: 'x' })
  t.equal(r.status, 308, 'permanent, method kept')
  t.equal(r.headers.location, `https://site.test:${secure!}/a/b?c=d`)
  t.equal(b.seen.length, 0, 'nothing reached the backend')
  const s = await httpsGet(secure!, '/a', { servername: 'site.test', ca: pki.ca.cert })
  t.equal(s.status, 200, 'the TLS listener proxies')
})

t.test('a plain HTTP listener and a TLS listener serve the same routes side by side', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `listen:
  - { port: 80 }
  - { port: 443, tls: { certificates: [ { cert: ${site.cert}, key: ${site.key} } ] } }
`))
  const [plain, secure] = gw.app.traffic.servers().map((s) => (s.address() as { port: number }).port)
  t.equal((await send(`http://127.0.0.1:${plain!}/p`)).text, 'b')
  t.equal(b.seen.at(-1)!.headers['x-forwarded-proto'], 'http')
  t.equal((await httpsGet(secure!, '/s', { servername: 'site.test', ca: pki.ca.cert })).text, 'b')
  t.equal(b.seen.at(-1)!.headers['x-forwarded-proto'], 'https')
})
