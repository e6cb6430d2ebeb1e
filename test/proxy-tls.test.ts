/**
 * HTTPS backends: certificates are verified by default (a self-signed backend gets 502
 * GW_UPSTREAM_TLS, with nothing of the TLS error shown to the client), a pool's tls.caFile makes
 * such a backend trusted, tls.rejectUnauthorized: false skips verification, and a backend that
 * accepts TCP but never completes the handshake runs into the pool's connect timeout (504).
 *
 * The key and self-signed certificate are made at test time with the openssl CLI.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { poolYaml, send, startGateway } from './helpers/gateway.js'

interface Asserts {
  ok: (v: unknown, msg: string) => boolean
  equal: (a: unknown, b: unknown, msg: string) => boolean
  notOk: (v: unknown, msg: string) => boolean
}

interface Teardown { teardown (fn: () => unknown): void }

/** Error bodies never carry internal addresses, errno strings, TLS error codes or stack traces. */
function assertNoLeak (t: Asserts, body: string): void {
  for (const s of ['127.0.0.1', 'ECONN', 'Error:', '    at ', 'CERT', 'SELF_SIGNED', 'self-signed', 'self signed']) {
    t.notOk(body.includes(s), `body does not contain ${JSON.stringify(s)}`)
  }
}

function assertError (t: Asserts, r: { status: number, text: string }, status: number, code: string): void {
  t.equal(r.status, status, `status ${status}`)
  let parsed: { error?: unknown } = {}
  try { parsed = JSON.parse(r.text) as typeof parsed } catch { t.ok(false, `body is JSON: ${r.text}`) }
  t.equal(parsed.error, code, `error code ${code}`)
  assertNoLeak(t, r.text)
}

interface Cert { keyFile: string, certFile: string, key: Buffer, cert: Buffer }

/** A key and self-signed certificate for 127.0.0.1 and localhost, or undefined without openssl. */
function makeCert (dir: string): Cert | undefined {
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '1',
    '-keyout', keyFile, '-out', certFile
  ], { encoding: 'utf8' })
  if (r.error !== undefined) return undefined
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`)
  return { keyFile, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) }
}

interface HttpsBackend { url: string, seen: string[] }

async function startHttpsBackend (t: Teardown, cert: Cert): Promise<HttpsBackend> {
  const seen: string[] = []
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    req.resume()
    req.on('end', () => {
      seen.push(req.url!)
      res.setHeader('x-backend', 'secure')
      res.end('secure')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const cert = makeCert(t.testdir())

if (cert === undefined) {
  t.plan(0, 'openssl CLI not found: the HTTPS backend tests need it to make a certificate')
} else {
  t.test('certificate verification is on by default: a self-signed backend gets 502 GW_UPSTREAM_TLS', async (t) => {
    const backend = await startHttpsBackend(t, cert)
    const gw = await startGateway(t, poolYaml([backend]))
    const r = await send(gw.url + '/tls')
    assertError(t, r, 502, 'GW_UPSTREAM_TLS')
    t.same(backend.seen, [], 'no request was sent over the unverified connection')
    const logged = gw.logs.find((l) => l.msg === 'upstream request failed')
    t.equal(logged?.code, 'GW_UPSTREAM_TLS', 'the error is logged with its catalogue code')
    t.equal(logged?.reason, 'tls', 'and labelled as a TLS failure')
  })

  t.test('tls.caFile naming the backend\'s certificate makes it trusted', async (t) => {
    const backend = await startHttpsBackend(t, cert)
    const gw = await startGateway(t, poolYaml([backend], '', `    tls:\n      caFile: ${JSON.stringify(cert.certFile)}\n`))
    const r = await send(gw.url + '/tls?x=1')
    t.equal(r.status, 200)
    t.equal(r.text, 'secure')
    t.same(backend.seen, ['/tls?x=1'])
  })

  t.test('tls.rejectUnauthorized: false skips verification', async (t) => {
    const backend = await startHttpsBackend(t, cert)
    const gw = await startGateway(t, poolYaml([backend], '', '    tls:\n      rejectUnauthorized: false\n'))
    const r = await send(gw.url + '/insecure')
    t.equal(r.status, 200)
    t.equal(r.text, 'secure')
    t.same(backend.seen, ['/insecure'])
  })

  t.test('a backend that never answers the TLS handshake gets 504 GW_UPSTREAM_CONNECT_TIMEOUT', async (t) => {
    // Accepts TCP connections and then says nothing: the ClientHello is never answered.
    const held = new Set<net.Socket>()
    const mute = net.createServer((s) => {
      held.add(s)
      s.on('close', () => held.delete(s))
      s.on('error', () => { /* the gateway gives up and resets */ })
    })
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve))
    t.teardown(async () => {
      for (const s of held) s.destroy()
      await new Promise((resolve) => mute.close(resolve))
    })
    let accepted = 0
    mute.on('connection', () => { accepted++ })
    const url = `https://127.0.0.1:${(mute.address() as AddressInfo).port}`
    const gw = await startGateway(t, poolYaml([{ url }], '', '    timeouts:\n      connect: 300ms\n'))
    const r = await send(gw.url + '/hang')
    assertError(t, r, 504, 'GW_UPSTREAM_CONNECT_TIMEOUT')
    t.ok(accepted >= 1, 'the TCP connection itself was accepted: the handshake is what timed out')
  })
}
