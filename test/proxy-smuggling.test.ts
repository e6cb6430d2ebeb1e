/**
 * Requests a gateway and a backend could frame differently (request smuggling, RFC 9112 §6.3 and
 * §11.2) are refused at the gateway: 400 in the catalogue's shape, the connection closed because
 * the byte stream can no longer be trusted, and nothing of them (nor a request hidden behind
 * them) reaches a backend. Also: the request target and Host never pick an upstream (no open
 * proxy), CONNECT is refused, and dot segments are refused before routing.
 *
 * All requests are written as raw bytes so that no client library repairs or normalises them.
 */
import t from 'tap'
import type { Test } from 'tap'
import { poolYaml, rawExchange, send, startBackend, startGateway, type TestBackend } from './helpers/gateway.js'
import { assertNoLeak, firstReply } from './helpers/raw-reply.js'

/** One catalogue error answer, the only response on the connection, and (when `closed`) a close. */
function assertRefused (t: Test, r: { text: string, closed: boolean }, status: number, code: string, closed = true): void {
  if (closed) t.ok(r.closed, 'the gateway closed the connection')
  const reply = firstReply(r.text)
  t.ok(reply, `the gateway answered ${status}`)
  if (reply === undefined) return
  t.equal(reply.status, status, `status ${status}`)
  let parsed: { error?: unknown, message?: unknown } = {}
  try { parsed = JSON.parse(reply.body) as typeof parsed } catch { t.ok(false, `body is JSON: ${reply.body}`) }
  t.equal(parsed.error, code, `error code ${code}`)
  t.equal(typeof parsed.message, 'string', 'a message for humans')
  t.equal(reply.rest, '', 'exactly one response: nothing smuggled behind it was answered')
  assertNoLeak(t, reply.body)
}

/**
 * After a refused exchange, one ordinary request proves the gateway still serves and that the
 * backend saw nothing else (the probe is the only request it recorded).
 */
async function assertBackendSawOnlyProbe (t: Test, gwUrl: string, backend: TestBackend): Promise<void> {
  const probe = await send(gwUrl + '/probe')
  t.equal(probe.status, 200, 'an ordinary request still goes through')
  t.same(backend.seen.map((s) => s.url), ['/probe'], 'the backend saw only the probe')
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n'

/**
 * Each case: raw bytes that a lenient parser and a strict one would frame differently. Errors in
 * the head are caught before routing; errors in a chunked body come after the request was handed
 * to the proxy, and must still be answered with 400 while no response has started.
 */
const DESYNC: Array<{ name: string, bytes: string }> = [
  {
    name: 'Content-Length together with Transfer-Encoding (CL.TE / TE.CL)',
    bytes: 'POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + SMUGGLED
  },
  {
    name: 'Transfer-Encoding before Content-Length',
    bytes: 'POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n' + SMUGGLED
  },
  {
    name: 'two different Content-Lengths',
    bytes: `POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n` + SMUGGLED
  },
  {
    name: 'a Content-Length list with different values',
    bytes: `POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 0, ${SMUGGLED.length}\r\n\r\n` + SMUGGLED
  },
  {
    name: 'an invalid chunk size',
    bytes: 'POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n' + SMUGGLED
  },
  {
    name: 'chunk data longer than its chunk size',
    bytes: 'POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n' + SMUGGLED
  },
  {
    name: 'a Transfer-Encoding that does not end in chunked',
    bytes: 'POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n' + SMUGGLED
  },
  {
    name: 'a bare CR inside a header value',
    bytes: 'GET /a HTTP/1.1\r\nHost: gw\r\nX-Split: a\rContent-Length: 36\r\n\r\n' + SMUGGLED
  },
  {
    name: 'a NUL inside a header value',
    bytes: 'GET /a HTTP/1.1\r\nHost: gw\r\nX-Nul: a\x00b\r\n\r\n' + SMUGGLED
  },
  {
    name: 'whitespace between a header name and the colon',
    bytes: `POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length : ${SMUGGLED.length}\r\n\r\n` + SMUGGLED
  },
  {
    name: 'an obs-fold line continuing Transfer-Encoding',
    bytes: 'POST /a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n' + SMUGGLED
  }
]

for (const c of DESYNC) {
  t.test(`desync: ${c.name} gets 400, a close, and reaches no backend`, async (t) => {
    const backend = await startBackend(t, 'b1')
    const gw = await startGateway(t, poolYaml([backend]))
    const r = await rawExchange(gw.port, c.bytes)
    assertRefused(t, r, 400, 'GW_BAD_REQUEST')
    t.notOk(backend.seen.some((s) => s.url === '/smuggled'), 'the smuggled request never reached the backend')
    t.same(backend.seen, [], 'nothing of the refused request reached the backend')
    await assertBackendSawOnlyProbe(t, gw.url, backend)
  })
}

t.test('absolute-form targets go to the configured pool, never to the named host', async (t) => {
  const backend = await startBackend(t, 'b1')
  // A server the gateway could reach but must never be steered to by a client.
  const outsider = await startBackend(t, 'outsider')
  const gw = await startGateway(t, poolYaml([backend]))

  const evil = await rawExchange(gw.port, 'GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n')
  t.equal(firstReply(evil.text)?.status, 200)
  t.equal(firstReply(evil.text)?.body, 'b1', 'answered by the pool backend')

  const local = await rawExchange(gw.port, `GET http://127.0.0.1:${outsider.port}/y?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${outsider.port}\r\nConnection: close\r\n\r\n`)
  t.equal(firstReply(local.text)?.body, 'b1', 'an absolute-form target naming another server still goes to the pool')

  t.same(backend.seen.map((s) => s.url), ['/x', '/y?q=1'], 'the backend saw origin-form paths')
  t.same(outsider.seen, [], 'the server named in the target was never contacted')
})

t.test('a Host header naming another server changes nothing about the backend used', async (t) => {
  const backend = await startBackend(t, 'b1')
  const outsider = await startBackend(t, 'outsider')
  const gw = await startGateway(t, poolYaml([backend]))
  for (const host of ['evil.example', `127.0.0.1:${outsider.port}`, `localhost:${outsider.port}`]) {
    const r = await send(gw.url + '/h', { headers: { host } })
    t.equal(r.status, 200, `Host: ${host}`)
    t.equal(r.text, 'b1', `Host: ${host} is answered by the pool backend`)
  }
  t.equal(backend.seen.length, 3)
  t.same(outsider.seen, [], 'the server named by Host was never contacted')
})

t.test('CONNECT gets 405 and a close, and tunnels nowhere', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend]))
  const r = await rawExchange(gw.port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\nSSH-2.0-probe\r\n')
  assertRefused(t, r, 405, 'GW_METHOD_NOT_ALLOWED')
  t.same(backend.seen, [], 'nothing reached the backend')
})

t.test('dot segments in the path get 400 and reach no backend', async (t) => {
  const backend = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([backend]))
  for (const path of ['/a/../b', '/a/%2e%2e/b', '/a/%2E%2E/b', '/a/.%2e/b', '/./x', '/a/%2e/b', '/a/..', '/..?x=1', '/public/..;/admin', '/a/.;x=1/b']) {
    // Connection: close only so that the exchange ends when the answer is complete.
    const r = await rawExchange(gw.port, `GET ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`)
    assertRefused(t, r, 400, 'GW_BAD_REQUEST', false)
  }
  t.same(backend.seen, [], 'no backend saw any of them')

  // Dots that are not whole segments are ordinary path characters.
  const ok = await send(gw.url + '/a/..b/.c/x.y?p=../q')
  t.equal(ok.status, 200, 'dots inside segments and in the query pass')
  t.same(backend.seen.map((s) => s.url), ['/a/..b/.c/x.y?p=../q'])
})
