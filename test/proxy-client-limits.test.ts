/**
 * The client-side limits of listen and routes: request heads over listen.maxHeaderSize get 431,
 * bodies over a route's maxBodySize get 413 (before anything is forwarded when Content-Length
 * says so, mid-stream for chunked uploads), slow clients are cut by headersTimeout and
 * requestTimeout, and a well-behaved client keeps its connection for several requests.
 */
import http from 'node:http'
import net from 'node:net'
import t from 'tap'
import type { Test } from 'tap'
import { poolYaml, rawExchange, send, startBackend, startGateway } from './helpers/gateway.js'
import { assertNoLeak, firstReply } from './helpers/raw-reply.js'

/** The first response in `text` is the catalogue error `code`. */
function assertError (t: Test, text: string, status: number, code: string): void {
  const reply = firstReply(text)
  t.ok(reply, `the gateway answered ${status}`)
  if (reply === undefined) return
  t.equal(reply.status, status, `status ${status}`)
  let parsed: { error?: unknown } = {}
  try { parsed = JSON.parse(reply.body) as typeof parsed } catch { t.ok(false, `body is JSON: ${reply.body}`) }
  t.equal(parsed.error, code, `error code ${code}`)
  assertNoLeak(t, reply.body)
}

const MAX_BODY = 1024
const LIMITS = `listen:
  maxHeaderSize: 4kb
routes:
  - match: { pathPrefix: / }
    pool: web
    maxBodySize: 1kb
`

t.test('a request head over listen.maxHeaderSize gets 431 and a close', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend], LIMITS))
  const r = await rawExchange(gw.port, `GET /big HTTP/1.1\r\nHost: gw\r\nX-Big: ${'a'.repeat(8 * 1024)}\r\n\r\n`)
  assertError(t, r.text, 431, 'GW_HEADERS_TOO_LARGE')
  t.ok(r.closed, 'the gateway closed the connection')
  t.equal(backend.seen.length, 0, 'nothing reached the backend')

  const under = await send(gw.url + '/fits', { headers: { 'x-big': 'a'.repeat(3 * 1024) } })
  t.equal(under.status, 200, 'a head under the limit passes')
  t.equal(backend.seen.length, 1)
})

t.test('a Content-Length over maxBodySize gets 413 before anything is forwarded', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend], LIMITS))

  const whole = await rawExchange(gw.port, `POST /up HTTP/1.1\r\nHost: gw\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n${'a'.repeat(MAX_BODY + 1)}`)
  assertError(t, whole.text, 413, 'GW_BODY_TOO_LARGE')
  t.ok(whole.closed, 'the gateway closed the connection: the unread body must not be parsed as a request')

  // Only the head: the answer must not wait for a body the gateway will never forward.
  const headOnly = await rawExchange(gw.port, 'POST /up HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000000000\r\n\r\n')
  assertError(t, headOnly.text, 413, 'GW_BODY_TOO_LARGE')
  t.ok(headOnly.closed, 'the gateway closed the connection')

  t.equal(backend.seen.length, 0, 'nothing reached the backend')
})

t.test('a chunked body over maxBodySize gets 413 and a close, and is never completed at the backend', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend], LIMITS))
  const over = (MAX_BODY + 1024).toString(16)

  // The upload is still going (no last chunk): the gateway answers and closes.
  const open = await rawExchange(gw.port, `POST /up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n${over}\r\n${'a'.repeat(MAX_BODY + 1024)}\r\n`)
  assertError(t, open.text, 413, 'GW_BODY_TOO_LARGE')
  t.ok(open.closed, 'the gateway closed the connection')

  // The whole upload in one write, last chunk included.
  const whole = await rawExchange(gw.port, `POST /up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${over}\r\n${'a'.repeat(MAX_BODY + 1024)}\r\n0\r\n\r\n`)
  assertError(t, whole.text, 413, 'GW_BODY_TOO_LARGE')

  t.equal(backend.seen.length, 0, 'the backend never received a complete (truncated) body')
})

t.test('bodies up to maxBodySize pass, with Content-Length and chunked', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend], LIMITS))
  const atLimit = Buffer.alloc(MAX_BODY, 'x')

  const cl = await send(gw.url + '/cl', { method: 'POST', body: atLimit })
  t.equal(cl.status, 200, 'exactly maxBodySize with Content-Length')
  const chunked = await send(gw.url + '/chunked', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: atLimit })
  t.equal(chunked.status, 200, 'exactly maxBodySize chunked')
  const small = await send(gw.url + '/small', { method: 'PUT', body: 'hello' })
  t.equal(small.status, 200, 'a small body')

  t.equal(backend.seen.length, 3)
  t.equal(backend.seen[0]!.body.length, MAX_BODY, 'the Content-Length body arrived whole')
  t.equal(backend.seen[1]!.body.length, MAX_BODY, 'the chunked body arrived whole')
  t.equal(backend.seen[2]!.body.toString(), 'hello')
})

interface Drip { closed: boolean, text: string }

/**
 * Opens a connection, writes `start`, then one byte of `drip` every 200 ms until the gateway
 * closes the connection or `budgetMs` runs out (then closed is false).
 */
async function dripFeed (port: number, start: string, budgetMs: number): Promise<Drip> {
  return await new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let interval: NodeJS.Timeout | undefined
    let finished = false
    const finish = (closed: boolean): void => {
      if (finished) return
      finished = true
      clearInterval(interval)
      clearTimeout(budget)
      sock.destroy()
      resolve({ closed, text: Buffer.concat(chunks).toString('latin1') })
    }
    const budget = setTimeout(() => { finish(false) }, budgetMs)
    sock.on('connect', () => {
      sock.write(start)
      interval = setInterval(() => { if (sock.writable) sock.write('a') }, 200)
    })
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('close', () => { finish(true) })
    sock.on('error', () => { /* a reset is one way of being cut; 'close' follows */ })
  })
}

const SLOW = `listen:
  headersTimeout: 1s
  requestTimeout: 2s
`

t.test('a slowloris client (one header byte every 200 ms) is cut by headersTimeout', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend], SLOW))
  const r = await dripFeed(gw.port, 'GET /slow HTTP/1.1\r\nHost: gw\r\nX-Slow: ', 10_000)
  t.ok(r.closed, 'the gateway closed the connection within the 10 s budget')
  if (r.text !== '') assertError(t, r.text, 408, 'GW_REQUEST_TIMEOUT')
  else t.pass('closed without an answer')
  t.equal(backend.seen.length, 0, 'nothing reached the backend')
})

t.test('a client sending its body too slowly is cut by requestTimeout and told 408', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend], 'listen:\n  headersTimeout: 500ms\n  requestTimeout: 1s\n'))
  const r = await dripFeed(gw.port, 'POST /slow HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n', 10_000)
  t.ok(r.closed, 'the gateway closed the connection within the 10 s budget')
  assertError(t, r.text, 408, 'GW_REQUEST_TIMEOUT')
  t.equal(backend.seen.length, 0, 'the backend never received a complete (truncated) body')
})

t.test('a keep-alive connection serves several requests in a row', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend], LIMITS))
  let connections = 0
  gw.app.traffic.server().on('connection', () => { connections++ })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })

  const one = async (method: string, path: string, body?: string): Promise<{ status: number, text: string, reused: boolean }> =>
    await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, method, path, agent }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => { resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), reused: req.reusedSocket }) })
      })
      req.on('error', reject)
      req.end(body)
    })

  const results = [
    await one('GET', '/1'),
    await one('POST', '/2', 'body two'),
    await one('PUT', '/3', 'x'.repeat(MAX_BODY)),
    await one('GET', '/4')
  ]
  t.same(results.map((r) => r.status), [200, 200, 200, 200])
  t.same(results.map((r) => r.reused), [false, true, true, true], 'requests 2 to 4 reused the first connection')
  t.equal(connections, 1, 'the gateway saw one client connection')
  t.same(backend.seen.map((s) => s.url), ['/1', '/2', '/3', '/4'])
  t.equal(backend.seen[1]!.body.toString(), 'body two')
})
