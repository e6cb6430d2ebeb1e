// Certificate rotation without a restart: a certificate replaced on disk is served to new
// handshakes while an open connection keeps its own; a bad replacement (key mismatch, expired)
// is refused with the file and the reason and the old certificate keeps serving; a reload
// that names a bad certificate is refused the same way.
import t from 'tap'
import https from 'node:https'
import { copyFileSync, readFileSync } from 'node:fs'
import type { TLSSocket } from 'node:tls'
import { loadConfigText } from '../lib/config/load.js'
import { ConfigError } from '../lib/config/issues.js'
import { poolYaml, startBackend, startGateway } from './helpers/gateway.js'
import { makePki, type Issued } from './helpers/pki.js'
import { handshake } from './helpers/tls.js'
import { waitFor } from './helpers/wait.js'
import { admin } from './helpers/admin.js'

const listenYaml = (c: Issued): string => `listen:\n  tls: { certificates: [ { cert: ${c.cert}, key: ${c.key} } ] }\n`

/** Replaces a served certificate's files with another's, key first (as certbot's renewal leaves them). */
function replace (served: Issued, by: Issued): void {
  copyFileSync(by.key, served.key)
  copyFileSync(by.cert, served.cert)
}

t.test('a certificate replaced on disk serves new handshakes; an open connection keeps its own', async (t) => {
  const pki = makePki(t.testdir())
  const served = pki.issue('served', { names: ['site.test'] })
  const renewed = pki.issue('renewed', { names: ['site.test'], cn: 'site.test renewed' })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], listenYaml(served)))
  const cnNow = async (): Promise<string> => {
    const h = await handshake(gw.port, { servername: 'site.test', ca: pki.ca.cert })
    h.socket.destroy()
    return String(h.cert.subject.CN)
  }
  t.equal(await cnNow(), 'site.test')

  // One keep-alive connection, opened before the rotation.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(pki.ca.cert), servername: 'site.test' })
  t.teardown(() => { agent.destroy() })
  const get = async (): Promise<{ status: number, cn: string, socket: TLSSocket }> => await new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: gw.port, path: '/', agent, headers: { host: 'site.test' } }, (res) => {
      const socket = res.socket as TLSSocket
      res.resume()
      res.on('end', () => { resolve({ status: res.statusCode!, cn: String(socket.getPeerCertificate().subject.CN), socket }) })
    }).on('error', reject)
  })
  const before = await get()
  t.equal(before.cn, 'site.test')

  replace(served, renewed)
  await waitFor(async () => await cnNow() === 'site.test renewed', { message: 'new handshakes get the renewed certificate' })
  t.match(gw.logs.find((l) => l.msg === 'certificates reloaded from disk'), { level: 30, certificates: [{ names: ['site.test'] }] }, 'logged')
  const after = await get()
  t.equal(after.status, 200, 'the open connection still serves')
  t.equal(after.socket, before.socket, 'on the same socket')
  t.equal(after.cn, 'site.test', 'with the certificate it was made with')
  const api = await admin(gw.app)
  const listed = await api('GET', '/admin/certificates')
  t.equal(listed.status, 200)
  t.match(listed.json.certificates, [{ names: ['site.test'], subject: /site\.test renewed/, certFile: served.cert }], 'the admin API shows the renewed one')
})

t.test('a bad replacement on disk is refused with the file and the reason; the old certificate keeps serving', async (t) => {
  const pki = makePki(t.testdir())
  const served = pki.issue('served', { names: ['site.test'] })
  const other = pki.issue('other', { names: ['site.test'], cn: 'other' })
  const expired = pki.issue('expired', { names: ['site.test'], cn: 'expired', validity: 'expired' })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], listenYaml(served)))
  const refusals = (): Array<Record<string, unknown>> => gw.logs.filter((l) => l.msg === 'certificate change on disk refused: the certificates in use keep serving')

  copyFileSync(other.key, served.key) // the certificate stays: now the key does not match it
  await waitFor(() => refusals().length >= 1, { message: 'the mismatched key was refused' })
  t.match(refusals()[0], { level: 50, reason: `${served.key}: the key does not match the certificate ${served.cert}` })
  const h = await handshake(gw.port, { servername: 'site.test', ca: pki.ca.cert })
  h.socket.destroy()
  t.equal(h.cert.subject.CN, 'site.test', 'the old certificate still serves')

  replace(served, expired)
  await waitFor(() => refusals().length >= 2, { message: 'the expired certificate was refused' })
  t.match(refusals()[1], { reason: new RegExp(`^${served.cert.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the certificate expired on 2020-02-01`) })
  const h2 = await handshake(gw.port, { servername: 'site.test', ca: pki.ca.cert })
  h2.socket.destroy()
  t.equal(h2.cert.subject.CN, 'site.test', 'still the old one')
})

t.test('a config naming an expired, mismatched or unreadable certificate is refused with its path', async (t) => {
  const pki = makePki(t.testdir())
  const good = pki.issue('good', { names: ['site.test'] })
  const expired = pki.issue('expired', { names: ['site.test'], validity: 'expired' })
  const future = pki.issue('future', { names: ['site.test'], validity: 'future' })
  const enc = pki.issue('enc', { names: ['site.test'], passphrase: 'right' })
  const issuesOf = (listen: string): Array<{ path: string, message: string }> => {
    try {
      loadConfigText(poolYaml([{ url: 'http://127.0.0.1:9' }], listen), { env: {} })
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => ({ path: i.path, message: i.message }))
      throw err
    }
    return []
  }
  const cert = (c: string, k: string, extra = ''): string => `listen:\n  tls: { certificates: [ { cert: ${c}, key: ${k}${extra} } ] }\n`
  t.match(issuesOf(cert(expired.cert, expired.key)), [{ path: 'listen.tls.certificates[0].cert', message: /the certificate expired on 2020-02-01/ }])
  t.match(issuesOf(cert(future.cert, future.key)), [{ path: 'listen.tls.certificates[0].cert', message: /is not valid before 2090-01-01/ }])
  t.match(issuesOf(cert(good.cert, expired.key)), [{ path: 'listen.tls.certificates[0].key', message: /the key does not match the certificate/ }])
  t.match(issuesOf(cert(good.cert, `${pki.dir}/missing.key`)), [{ path: 'listen.tls.certificates[0].key', message: /cannot read the key file \(ENOENT\)/ }])
  t.match(issuesOf(cert(enc.cert, enc.key)), [{ path: 'listen.tls.certificates[0].key', message: /encrypted and no passphrase/ }])
  t.match(issuesOf(cert(enc.cert, enc.key, ', passphrase: wrong')), [{ path: 'listen.tls.certificates[0].key', message: /passphrase does not open the key/ }])
  t.match(issuesOf(`listen:\n  - { port: 1 }\n  - { port: 2, tls: { certificates: [ { cert: ${good.key}, key: ${good.key} } ] } }\n`),
    [{ path: 'listen[1].tls.certificates[0].cert', message: /not a PEM certificate/ }], 'a key given as the certificate, in a list')
  t.same(issuesOf(cert(enc.cert, enc.key, ', passphrase: right')), [], 'the right passphrase opens it')
})

t.test('a reload whose certificate changed to a bad one is refused and the running one keeps serving', async (t) => {
  const pki = makePki(t.testdir())
  const good = pki.issue('good', { names: ['site.test'] })
  const next = pki.issue('next', { names: ['site.test'], cn: 'next' })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], listenYaml(good)))
  const listen = `listen:\n  host: 127.0.0.1\n  port: ${gw.port}\n  tls: { certificates: [ { cert: ${next.cert}, key: ${next.key} } ] }\n`
  const config = loadConfigText(poolYaml([b], listen), { env: {} })
  // Valid when loaded; its key is swapped for another before the reload reads it (prepare).
  copyFileSync(good.key, next.key)
  await t.rejects(gw.app.reloadConfig(config), { message: /the key does not match the certificate/ })
  const h = await handshake(gw.port, { servername: 'site.test', ca: pki.ca.cert })
  h.socket.destroy()
  t.equal(h.cert.subject.CN, 'site.test', 'the running certificate keeps serving')
  // And a good reload switches.
  const fresh = pki.issue('fresh', { names: ['site.test'], cn: 'fresh' })
  await gw.app.reloadConfig(loadConfigText(poolYaml([b], listen.replace(next.cert, fresh.cert).replace(next.key, fresh.key)), { env: {} }))
  const h2 = await handshake(gw.port, { servername: 'site.test', ca: pki.ca.cert })
  h2.socket.destroy()
  t.equal(h2.cert.subject.CN, 'fresh', 'after a good reload, new handshakes get the new certificate')
})
