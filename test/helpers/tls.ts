/**
 * TLS clients for tests: a handshake that reports the certificate the server chose, and HTTPS
 * requests over node:https with the test CA, a server name, and optionally a client certificate.
 */
import https from 'node:https'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import type { Issued } from './pki.js'

export interface Handshake {
  /** The leaf certificate the server sent. */
  cert: tls.PeerCertificate
  /** Whether it verified against the CA for the server name. */
  authorized: boolean
  authorizationError: string | undefined
  protocol: string | null
  alpn: string | false | null
  socket: tls.TLSSocket
}

/** Connects with `servername` (undefined: no SNI) and returns what the handshake gave; the socket stays open. */
export async function handshake (port: number, opts: { servername?: string, ca: string, client?: Issued, alpn?: string[], minVersion?: tls.SecureVersion, maxVersion?: tls.SecureVersion }): Promise<Handshake> {
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(opts.ca),
      ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
      rejectUnauthorized: false,
      ...(opts.client !== undefined ? { cert: readFileSync(opts.client.cert), key: readFileSync(opts.client.key) } : {}),
      ...(opts.alpn !== undefined ? { ALPNProtocols: opts.alpn } : {}),
      ...(opts.minVersion !== undefined ? { minVersion: opts.minVersion } : {}),
      ...(opts.maxVersion !== undefined ? { maxVersion: opts.maxVersion } : {})
    }, () => {
      resolve({
        cert: socket.getPeerCertificate(),
        authorized: socket.authorized,
        authorizationError: socket.authorizationError?.message ?? (socket.authorizationError as unknown as string | undefined),
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol,
        socket
      })
    })
    socket.once('error', reject)
  })
}

export interface HttpsReply { status: number, headers: Record<string, string | string[] | undefined>, text: string }

/** One HTTPS request (a fresh connection unless `agent` is given), verifying the server against `ca` for `servername`. */
export async function httpsGet (port: number, path: string, opts: { servername: string, ca: string, client?: Issued, headers?: Record<string, string>, agent?: https.Agent }): Promise<HttpsReply> {
  return await new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      path,
      servername: opts.servername,
      ca: readFileSync(opts.ca),
      headers: { host: opts.servername, ...opts.headers },
      agent: opts.agent ?? false,
      ...(opts.client !== undefined ? { cert: readFileSync(opts.client.cert), key: readFileSync(opts.client.key) } : {})
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
