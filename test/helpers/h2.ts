/**
 * HTTP/2 clients for tests (node:http2): sessions to a TLS listener (ALPN h2, verifying against
 * the test CA) or an h2c one, and requests on them that return status, headers and body.
 */
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import { readFileSync } from 'node:fs'

type Teardown = { teardown: (fn: () => unknown) => void }

/** A session to https://127.0.0.1:port for `servername` (or h2c when `ca` is undefined), closed at teardown. */
export async function h2Session (t: Teardown, port: number, opts: { servername?: string, ca?: string } = {}): Promise<ClientHttp2Session> {
  const session = opts.ca === undefined
    ? http2.connect(`http://127.0.0.1:${port}`)
    : http2.connect(`https://127.0.0.1:${port}`, { ca: readFileSync(opts.ca), servername: opts.servername })
  t.teardown(() => { if (!session.destroyed) session.destroy() })
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => { resolve() })
    session.once('error', reject)
  })
  return session
}

export interface H2Reply { status: number, headers: IncomingHttpHeaders, body: string }

/** One request on `session`; `body` is sent as DATA frames (no content-length unless given). */
export async function h2Request (session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<H2Reply> {
  return await new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined })
    let got: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    stream.on('response', (h) => { got = h })
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => { resolve({ status: Number(got[':status']), headers: got, body: Buffer.concat(chunks).toString() }) })
    stream.on('error', reject)
    if (body !== undefined) stream.end(body)
  })
}
