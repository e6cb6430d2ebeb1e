// Client certificates beyond the listener: a route can match on the verified client certificate
// (any, a subject, a common name), and a pool can present a client certificate to https://
// backends that require one (mTLS to backends), with a per-pool SNI name. Bad certificate files
// are config errors with the field's path.
import https from 'node:https'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { send, startBackend, startGateway } from './helpers/gateway.js'
import { makePki } from './helpers/pki.js'
import { httpsGet } from './helpers/tls.js'
import { loadConfigText } from '../lib/config/load.js'

type Teardown = { teardown: (fn: () => unknown) => void }

t.test('routes match on the verified client certificate', async (t) => {
  const pki = makePki(t.testdir())
  const site = pki.issue('site', { names: ['site.test'] })
  const alice = pki.issue('alice', { cn: 'alice', client: true })
  const bob = pki.issue('bob', { cn: 'bob', client: true })
  const [admin, members, anyone] = [await startBackend(t, 'admin'), await startBackend(t, 'members'), await startBackend(t, 'anyone')]
  const gw = await startGateway(t, `listen:
  tls:
    certificates: [ { cert: ${site.cert}, key: ${site.key} } ]
    clientCertificate: { mode: request, ca: ${pki.ca.cert} }
pools:
  admin: { backends: [ { url: ${admin.url} } ] }
  members: { backends: [ { url: ${members.url} } ] }
  anyone: { backends: [ { url: ${anyone.url} } ] }
routes:
  - { match: { clientCertificate: { commonName: alice } }, pool: admin }
  - { match: { clientCertificate: {} }, pool: members }
  - { match: { pathPrefix: / }, pool: anyone }
`)
  const get = async (client?: typeof alice): Promise<string> =>
    (await httpsGet(gw.port, '/', { servername: 'site.test', ca: pki.ca.cert, ...(client !== undefined ? { client } : {}) })).text
  t.equal(await get(alice), 'admin', 'CN=alice: the commonName route')
  t.equal(await get(bob), 'members', 'another verified certificate: the any-certificate route')
  t.equal(await get(), 'anyone', 'no certificate: neither')

  // The same over HTTP/2, where the request's socket is the session's.
  const session = http2.connect(`https://127.0.0.1:${gw.port}`, { servername: 'site.test', ca: readFileSync(pki.ca.cert), cert: readFileSync(alice.cert), key: readFileSync(alice.key) })
  t.teardown(() => { session.destroy() })
  const body = await new Promise<string>((resolve, reject) => {
    const stream = session.request({ ':path': '/' })
    let text = ''
    stream.setEncoding('utf8')
    stream.on('data', (c: string) => { text += c })
    stream.on('end', () => { resolve(text) })
    stream.on('error', reject)
  })
  t.equal(body, 'admin', 'HTTP/2 with CN=alice: the commonName route')
})

t.test('a route on a client certificate needs a listener that asks for one', async (t) => {
  t.throws(() => loadConfigText(`pools: { web: { backends: [ { url: "http://127.0.0.1:9" } ] } }
routes:
  - { match: { clientCertificate: { subject: "CN=alice" } }, pool: web }
`, { env: {} }), { message: /routes\[0\]\.match\.clientCertificate: no listener asks clients for a certificate/ })
})

interface MtlsBackend { url: string, port: number, subjects: string[], servernames: string[] }

/** An https backend that requires a client certificate from `ca` and records who connected. */
async function startMtlsBackend (t: Teardown, cert: { cert: string, key: string }, ca: string): Promise<MtlsBackend> {
  const b: MtlsBackend = { url: '', port: 0, subjects: [], servernames: [] }
  const server = https.createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const socket = req.socket as import('node:tls').TLSSocket
    b.subjects.push(String(socket.getPeerCertificate().subject?.CN))
    b.servernames.push(String((socket as unknown as { servername?: string }).servername))
    res.end('secure')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  b.port = (server.address() as AddressInfo).port
  b.url = `https://127.0.0.1:${b.port}`
  return b
}

t.test('mTLS to backends: the pool presents its client certificate; without it the backend refuses', async (t) => {
  const pki = makePki(t.testdir())
  const server = pki.issue('backend', { names: ['orders.internal'] })
  const gwClient = pki.issue('gateway-client', { cn: 'gateway', client: true })
  const b = await startMtlsBackend(t, server, pki.ca.cert)
  const pool = (tls: string): string => `pools:
  orders:
    retry: { attempts: 1 }
    tls: { caFile: ${pki.ca.cert}, servername: orders.internal${tls} }
    backends: [ { url: ${b.url} } ]
`
  const withCert = await startGateway(t, pool(`, certFile: ${gwClient.cert}, keyFile: ${gwClient.key}`))
  const ok = await send(withCert.url)
  t.equal(ok.status, 200)
  t.equal(ok.text, 'secure')
  t.same(b.subjects, ['gateway'], 'the backend verified the gateway\'s certificate')
  t.same(b.servernames, ['orders.internal'], 'SNI is the pool\'s servername, not the backend address')

  const without = await startGateway(t, pool(''))
  const refused = await send(without.url)
  t.equal(refused.status, 502, 'the backend refused a client without a certificate')
  t.notMatch(refused.text, /127\.0\.0\.1|certificate/i, 'nothing of the TLS failure reaches the client')
  t.equal(b.subjects.length, 1)

  await withCert.app.adminServer.listen({ port: 0, host: '127.0.0.1' })
  const config = await send(`http://127.0.0.1:${(withCert.app.adminServer.server.address() as AddressInfo).port}/admin/config`)
  t.equal(config.status, 200)
  t.notMatch(config.text, /BEGIN/, 'no PEM text (certificate or private key) in GET /admin/config')
  t.equal(JSON.parse(config.text).pools.orders.tls.keyFile, gwClient.key, 'the file paths stay')
})

t.test('a pool client certificate that cannot be used is refused with the path', async (t) => {
  const pki = makePki(t.testdir())
  const a = pki.issue('a', { cn: 'a', client: true })
  const other = pki.issue('other', { cn: 'other', client: true })
  const expired = pki.issue('old', { cn: 'old', client: true, validity: 'expired' })
  const yaml = (tls: string): string => `pools: { web: { tls: { ${tls} }, backends: [ { url: "https://127.0.0.1:9" } ] } }\n`
  t.throws(() => loadConfigText(yaml(`certFile: ${a.cert}`), { env: {} }), { message: /pools\.web\.tls\.keyFile: a client certificate needs both certFile and keyFile/ })
  t.throws(() => loadConfigText(yaml(`certFile: ${a.cert}, keyFile: ${other.key}`), { env: {} }), { message: /pools\.web\.tls\.keyFile: .*does not match/ })
  t.throws(() => loadConfigText(yaml(`certFile: ${expired.cert}, keyFile: ${expired.key}`), { env: {} }), { message: /pools\.web\.tls\.certFile: .*expired/ })
  t.throws(() => loadConfigText(yaml(`certFile: ${a.cert}x, keyFile: ${a.key}`), { env: {} }), { message: /pools\.web\.tls\.certFile: .*cannot read/ })
})
