/**
 * One operation of each load the loop driver (loop.ts) runs, besides autocannon's:
 *
 * - tlsRequest(): a new TCP connection and TLS handshake (SNI localhost, no certificate check:
 *   the bench's certificate is self-signed), one `GET /` with `Connection: close`, the whole
 *   answer read until the server closes. Without `resume`, no session is ever offered, so
 *   every handshake is a full one. With `resume`, the latest session (ticket) any connection got
 *   is offered, as a browser or a pooling client would; `resumed` counts the handshakes the
 *   server accepted it in (the figure says how many were really abbreviated).
 * - h2Request(): one GET stream on an open HTTP/2 session, its body read to the end.
 * - The gRPC call is grpc-echo.ts's callEcho().
 */
import type { ClientHttp2Session } from 'node:http2'
import http2 from 'node:http2'
import { connect } from 'node:tls'
import { HOST } from './common.js'
import type { Outcome } from './loop.js'

export interface TlsRequests { op: () => Promise<Outcome>, resumed: () => number }

const TLS_REQUEST = 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
/** A handshake plus one proxied answer should take milliseconds; this only ends a hang. */
const TLS_REQUEST_TIMEOUT_MS = 10_000

export function tlsRequests (port: number, resume: boolean): TlsRequests {
  let session: Buffer | undefined
  let resumed = 0
  const op = (): Promise<Outcome> => new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], ...(resume && session !== undefined && { session }) })
    let head = ''
    socket.setTimeout(TLS_REQUEST_TIMEOUT_MS, () => socket.destroy(new Error('timed out')))
    if (resume) socket.on('session', (s: Buffer) => { session = s })
    socket.once('secureConnect', () => {
      if (socket.isSessionReused()) resumed++
      socket.write(TLS_REQUEST)
    })
    socket.on('data', (d: Buffer) => { if (head.length < 12) head += d.toString('latin1', 0, 12) })
    socket.once('error', reject)
    socket.once('close', (hadError) => { if (!hadError) resolve(head.startsWith('HTTP/1.1 200') ? 'ok' : 'non2xx') })
  })
  return { op, resumed: () => resumed }
}

/** `count` HTTP/2 sessions to url (https: TLS with ALPN h2, no certificate check; http: h2c). */
export async function h2Sessions (url: string, count: number): Promise<ClientHttp2Session[]> {
  return await Promise.all(Array.from({ length: count }, async () => {
    const session = http2.connect(url, { rejectUnauthorized: false, servername: 'localhost' })
    await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject) })
    // Errors after the connect fail the streams in flight, which count them.
    session.on('error', () => {})
    return session
  }))
}

export function h2Request (session: ClientHttp2Session, path: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ':method': 'GET' })
    let status = 0
    stream.once('response', (h) => { status = Number(h[':status']) })
    stream.resume()
    stream.once('end', () => resolve(status >= 200 && status < 300 ? 'ok' : 'non2xx'))
    stream.once('error', reject)
  })
}
