import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import { poolYaml, rawExchange, send, startBackend, startGateway } from './helpers/gateway.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Echoes the request body back with the same content type. */
const echo = (_req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void => {
  res.setHeader('content-type', _req.headers['content-type'] ?? 'application/octet-stream')
  res.end(body)
}

t.test('3 MB text/plain and JSON bodies arrive byte for byte, both ways', async (t) => {
  const b = await startBackend(t, 'echo', echo)
  const gw = await startGateway(t, poolYaml([b]))
  const text = Buffer.from(randomBytes(1.5 * 1024 * 1024).toString('hex'))
  for (const type of ['text/plain', 'application/json']) {
    const r = await send(gw.url + '/upload', { method: 'POST', headers: { 'content-type': type }, body: text })
    t.equal(r.status, 200, type)
    t.equal(r.body.length, text.length, `${type}: response length`)
    t.equal(sha(r.body), sha(text), `${type}: response bytes`)
    const seen = b.seen.at(-1)!
    t.equal(sha(seen.body), sha(text), `${type}: backend got the exact bytes`)
    t.equal(seen.headers['content-length'], String(text.length), 'Content-Length forwarded')
  }
})

t.test('a chunked upload is forwarded as a stream and arrives whole', async (t) => {
  const b = await startBackend(t, 'echo', echo)
  const gw = await startGateway(t, poolYaml([b]))
  const parts = [randomBytes(70000), randomBytes(5), randomBytes(200000)]
  const r = await new Promise<{ status: number, body: Buffer }>((resolve, reject) => {
    const req = http.request(gw.url + '/c', { method: 'PUT', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    for (const p of parts) req.write(p)
    req.end()
  })
  t.equal(r.status, 200)
  t.equal(sha(r.body), sha(Buffer.concat(parts)))
  t.equal(b.seen[0]!.headers['transfer-encoding'], 'chunked', 'sent upstream chunked, as it came')
})

t.test('a 50 MB upload streams with backpressure: a backend that stops reading stops the client', async (t) => {
  let received = 0
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  const b = await startBackend(t, 'sink', (_req, res) => { res.end(String(received)) }, { collectBody: false })
  // The backend reads nothing until the test releases it, then counts every byte.
  b.server.prependListener('request', (req: http.IncomingMessage) => {
    req.pause()
    void released.then(() => { req.on('data', (c: Buffer) => { received += c.length }); req.resume() })
  })
  const gw = await startGateway(t, poolYaml([b]))
  const total = 50 * 1024 * 1024
  const chunk = Buffer.alloc(64 * 1024, 7)
  const req = http.request(gw.url + '/big', { method: 'POST', agent: false, headers: { 'content-length': String(total) } })
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)) })
    req.on('error', reject)
  })
  let sent = 0
  const pump = (): void => {
    while (sent < total) {
      sent += chunk.length
      if (!req.write(chunk)) { req.once('drain', pump); return }
    }
    req.end()
  }
  pump()
  // Wait until the client's writes stall (no progress for 300 ms), then look at how much left it.
  let last = -1
  while (last !== sent) {
    last = sent
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  t.ok(sent < total / 3, `the client stalled after ${(sent / 1048576).toFixed(1)} MB of 50: the gateway does not buffer the body`)
  release()
  t.equal(await status, 200)
  t.equal(received, total, 'once released, the backend received every byte')
})

t.test('HEAD, 204 and 304 answers carry no body', async (t) => {
  const b = await startBackend(t, 'codes', (req, res) => {
    if (req.url === '/204') { res.statusCode = 204; res.end(); return }
    if (req.url === '/304') { res.statusCode = 304; res.setHeader('etag', '"v1"'); res.end(); return }
    res.setHeader('content-type', 'text/plain')
    res.setHeader('content-length', '11')
    res.end(req.method === 'HEAD' ? undefined : 'hello world')
  })
  const gw = await startGateway(t, poolYaml([b]))
  const head = await rawExchange(gw.port, 'HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(head.text, /^HTTP\/1\.1 200 /)
  t.match(head.text, /content-length: 11\r\n/i, 'HEAD keeps the length of the GET answer')
  t.ok(head.text.endsWith('\r\n\r\n'), 'and no body follows')
  for (const code of ['204', '304']) {
    const r = await rawExchange(gw.port, `GET /${code} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    t.match(r.text, new RegExp(`^HTTP/1\\.1 ${code} `))
    t.ok(r.text.endsWith('\r\n\r\n'), `${code} has no body`)
    t.notMatch(r.text, /transfer-encoding/i, `${code} is not chunked`)
  }
  t.same(b.seen.map((s) => s.method), ['HEAD', 'GET', 'GET'])
})

t.test('Expect: 100-continue gets 100 Continue, then the proxied answer', async (t) => {
  const b = await startBackend(t, 'echo', echo)
  const gw = await startGateway(t, poolYaml([b]))
  const r = await rawExchange(gw.port,
    'POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
  t.match(r.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/)
  t.ok(r.text.endsWith('hello'))
  t.equal(b.seen[0]!.headers.expect, undefined, 'Expect is answered here, not forwarded')
})

t.test('a large streamed response arrives whole', async (t) => {
  const payload = randomBytes(8 * 1024 * 1024)
  const b = await startBackend(t, 'big', (_req, res) => {
    let off = 0
    const step = (): void => {
      while (off < payload.length) {
        const ok = res.write(payload.subarray(off, off + 65536))
        off += 65536
        if (!ok) { res.once('drain', step); return }
      }
      res.end()
    }
    step()
  })
  const gw = await startGateway(t, poolYaml([b]))
  const r = await send(gw.url + '/big')
  t.equal(r.status, 200)
  t.equal(sha(r.body), sha(payload))
})

t.test('Expect: 100-continue with a body over the route limit gets 413 and no 100 Continue', async (t) => {
  const b = await startBackend(t, 'echo', echo)
  const gw = await startGateway(t, poolYaml([b], 'routes: [ { match: { pathPrefix: / }, pool: web, maxBodySize: 1kb } ]\n'))
  const r = await rawExchange(gw.port, 'POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000000\r\n\r\n')
  t.match(r.text, /^HTTP\/1\.1 413 /, 'refused before the client was invited to upload')
  t.notMatch(r.text, /100 Continue/)
  t.ok(r.closed)
  t.equal(b.seen.length, 0)
})
