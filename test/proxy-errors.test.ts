import t, { type Test } from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { errorBody, poolYaml, send, startBackend, startGateway, type Reply, deadPort } from './helpers/gateway.js'
import { waitFor, within } from './helpers/wait.js'

/** Error bodies are small catalogue JSON and never show addresses, errno strings or stacks. */
function assertCleanError (t: Test, r: Reply, status: number, code: string): void {
  t.equal(r.status, status, `status ${status}`)
  t.match(r.headers['content-type'], /^application\/json/)
  const body = errorBody(r.text)
  t.equal(body.error, code)
  t.type(body.message, 'string')
  t.same(Object.keys(body).sort(), ['error', 'message'])
  for (const leak of ['127.0.0.1', 'ECONN', 'Error:', '    at ', 'undici', 'localhost']) {
    t.notOk(r.text.includes(leak), `body does not contain "${leak}"`)
  }
}

t.test('refused connection: 502 GW_UPSTREAM_UNAVAILABLE, also for a request with a body', async (t) => {
  const port = await deadPort()
  const gw = await startGateway(t, poolYaml([{ url: `http://127.0.0.1:${port}` }]))
  assertCleanError(t, await send(gw.url + '/x'), 502, 'GW_UPSTREAM_UNAVAILABLE')
  assertCleanError(t, await send(gw.url + '/x', { method: 'POST', body: 'payload' }), 502, 'GW_UPSTREAM_UNAVAILABLE')
  const snap = gw.app.pools.get('web')!.snapshot()[0]!
  // The GET was tried twice (retry.attempts defaults to 2; the one backend again, as there is no other); POST is never retried.
  t.equal(snap.errors, 3, 'errors counted per attempt')
  t.equal(snap.inFlight, 0, 'in-flight released on error')
  const errLine = gw.logs.find((l) => l.msg === 'upstream request failed')
  t.ok(errLine, 'the error is logged with its context')
  t.equal(errLine?.code, 'GW_UPSTREAM_UNAVAILABLE')
  t.equal(errLine?.pool, 'web')
  t.equal(errLine?.reason, 'connect')
  t.match((errLine?.err as { code?: string })?.code, 'ECONNREFUSED', 'the original error is kept as the cause in the log')
})

t.test('backend resets the connection before answering: 502 GW_UPSTREAM_RESET', async (t) => {
  const b = await startBackend(t, 'rst', (req) => { req.socket.resetAndDestroy() })
  const gw = await startGateway(t, poolYaml([b]))
  assertCleanError(t, await send(gw.url + '/'), 502, 'GW_UPSTREAM_RESET')
})

t.test('backend closes mid-body: the client connection is cut, not given a short body as whole', async (t) => {
  const b = await startBackend(t, 'half', (_req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('only part')
    setTimeout(() => res.socket?.destroy(), 20)
  })
  const gw = await startGateway(t, poolYaml([b]))
  await t.rejects(send(gw.url + '/'), 'the client sees an aborted response')
  await waitFor(() => gw.logs.some((l) => l.msg === 'access'), { message: 'the request was logged', seen: () => gw.logs.map((l) => l.msg) })
  t.equal(gw.logs.find((l) => l.msg === 'access')?.status, 502, 'logged as the failure it is, not as the 200 that began')
})

t.test('backend slower than timeouts.request: 504 GW_UPSTREAM_TIMEOUT', async (t) => {
  const b = await startBackend(t, 'slow', (_req, res) => { setTimeout(() => res.end('late'), 2000).unref() })
  const gw = await startGateway(t, poolYaml([b], '', '    timeouts: { request: 200ms }\n'))
  assertCleanError(t, await send(gw.url + '/'), 504, 'GW_UPSTREAM_TIMEOUT')
})

t.test('no ready backend: 503 GW_NO_BACKEND with Retry-After, nothing forwarded', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  gw.app.pools.get('web')!.setEnabled(`127.0.0.1:${b.port}`, false)
  const r = await send(gw.url + '/')
  assertCleanError(t, r, 503, 'GW_NO_BACKEND')
  t.equal(r.headers['retry-after'], '1')
  t.equal(b.seen.length, 0)
})

t.test('backend sends an invalid response: 502 GW_UPSTREAM_ERROR', async (t) => {
  const srv = net.createServer((s) => { s.once('data', () => s.end('HTTP/1.1 abc nonsense\r\n\r\n')) })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => srv.close())
  const gw = await startGateway(t, poolYaml([{ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }]))
  assertCleanError(t, await send(gw.url + '/'), 502, 'GW_UPSTREAM_ERROR')
})

t.test('a client that leaves early aborts the upstream request and frees the backend', async (t) => {
  let upstreamClosed!: () => void
  const closed = new Promise<void>((resolve) => { upstreamClosed = resolve })
  let gotRequest!: () => void
  const arrived = new Promise<void>((resolve) => { gotRequest = resolve })
  const b = await startBackend(t, 'hang', (req, res) => { res.on('close', () => upstreamClosed()); void req; gotRequest() })
  const gw = await startGateway(t, poolYaml([b]))
  const sock = net.connect(gw.port, '127.0.0.1')
  t.teardown(() => { sock.destroy() }) // also when a wait below fails: the gateway's close waits for it
  sock.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n')
  await within(arrived, { message: 'the backend got the request' })
  sock.destroy()
  await within(closed, { message: 'the upstream request was aborted (the backend saw its response close)' })
  const pool = gw.app.pools.get('web')!
  await waitFor(() => pool.snapshot()[0]!.inFlight === 0, { message: 'in-flight is back to 0', seen: () => pool.snapshot()[0] })
  t.pass('upstream request aborted and in-flight back to 0')
  await waitFor(() => gw.logs.some((l) => l.msg === 'access'), { message: 'the request was logged', seen: () => gw.logs.map((l) => l.msg) })
  t.equal(gw.logs.find((l) => l.msg === 'access')?.status, 499, 'logged as 499 (client closed)')
})
