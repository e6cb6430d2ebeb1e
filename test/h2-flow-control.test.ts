// HTTP/2 flow control on the client listener: many streams of one connection sending bodies at
// once must not starve each other of the connection's receive window (lib/traffic/h2.ts
// connectionWindow). Found with h2load -m16 and 64 KiB bodies; reproduced here with node:http2.
// Without that window (the 64 KiB default for the whole connection) this run measured every
// answer arriving but the connection left wedged: the graceful shutdown never completed.
import t from 'tap'
import http, { type ServerResponse } from 'node:http'
import type { ClientHttp2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { poolYaml, startGateway } from './helpers/gateway.js'
import { h2Session } from './helpers/h2.js'
import { admin } from './helpers/admin.js'

const STREAMS = 16
const BODY = Buffer.alloc(64 * 1024, 'x')

/** One POST with BODY on `session`; resolves with its status, or 0 when the stream failed. */
async function post (session: ClientHttp2Session): Promise<number> {
  return await new Promise((resolve) => {
    const s = session.request({ ':method': 'POST', ':path': '/upload' })
    let status = 0
    s.on('response', (h) => { status = Number(h[':status']) })
    s.on('error', () => { resolve(0) })
    s.on('close', () => { resolve(status) })
    s.resume()
    s.end(BODY)
  })
}

t.test(`${STREAMS} streams at once on one connection, each with a 64 KiB body, all get their answers`, async (t) => {
  // A backend that answers before reading the body (as many do for an upload they refuse), and
  // one that reads it: both leave streams of the client's connection with unread DATA.
  const seen: number[] = []
  const backend = http.createServer((req, res: ServerResponse) => {
    if (req.url === '/upload' && seen.push(1) % 2 === 0) { res.end('early'); return }
    req.resume()
    req.on('end', () => { res.end('read') })
  })
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { backend.closeAllConnections(); await new Promise((resolve) => backend.close(resolve)) })
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`
  // A pool with 2 connections per backend, so most streams wait (unread) for one.
  const gw = await startGateway(t, poolYaml([{ url }], 'listen: { http2: true }\n', '    circuitBreaker: { maxConnections: 2, maxPendingRequests: 100 }\n'))
  const session = await h2Session(t, gw.port)
  session.on('error', () => {})
  const total = Number(process.env.H2TOTAL ?? 160)
  const statuses: number[] = []
  let next = 0
  // Keeps STREAMS requests open at any time until `total` were sent.
  const lane = async (): Promise<void> => {
    while (next < total) {
      next++
      statuses.push(await post(session))
    }
  }
  const timer = setTimeout(() => { session.destroy() }, 20_000)
  await Promise.all(Array.from({ length: STREAMS }, lane))
  clearTimeout(timer)
  const ok = statuses.filter((s) => s === 200).length
  t.equal(ok, total, `every request answered 200 (got ${ok} of ${total}; the others failed or were cut after 20 s)`)
  t.equal(session.destroyed, false, 'the connection is still open')
  // Every stream ended on the gateway's side too: nothing is left in flight at the backend
  // (a stream stuck waiting for DATA the client may no longer send would hold it forever).
  const call = await admin(gw.app)
  let inFlight = -1
  for (let i = 0; i < 50 && inFlight !== 0; i++) {
    inFlight = (await call('GET', '/admin/pools/web')).json.backends[0].inFlight
    if (inFlight !== 0) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(inFlight, 0, 'no request is left in flight at the backend')
  // And the connection is not wedged: a graceful shutdown (GOAWAY, then close) completes.
  session.close()
  let bound: NodeJS.Timeout | undefined
  const closed = await Promise.race([gw.app.close().then(() => true), new Promise((resolve) => { bound = setTimeout(resolve, 10_000, false) })])
  clearTimeout(bound)
  t.equal(closed, true, 'the gateway shuts down gracefully within 10 s')
})
