// Close completion: once both sides of a WebSocket have closed, the gateway ends the client's
// TCP connection itself, without waiting for the tunnel's fallback deadline.
//
// The close races that matter: a `ws` client answers a close frame and ends its side of the
// TCP connection at once, so its FIN reaches the gateway before the backend's; a client may
// also half-close right after its own close frame (RFC 6455 §7.1.1). Either way, once the
// backend has ended too, the gateway must end the client's connection, or the client waits for
// the tunnel's 2 s fallback (CLOSE_DEADLINE_MS) that destroys both sockets. That fallback is
// held back here, so each case completes only if the gateway ends the connection itself; the
// bounded wait on that end (helpers/wait.ts) is each case's last step.
import t from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { CLOSE_DEADLINE_MS } from '../lib/ws/tunnel.js'
import { startGateway } from './helpers/gateway.js'
import { waitFor, within } from './helpers/wait.js'
import { closed, openWs, startWsBackend, wsUrl, wsYaml } from './helpers/ws.js'

/**
 * Holds back the tunnel's close deadline (CLOSE_DEADLINE_MS, after which it destroys both
 * sockets of a closing connection), so a test sees only what the gateway does on its own when
 * the close completes. The held callbacks run at teardown (before the gateway closes, which
 * waits for its connections). `settled(p)` is `p`, except that it stays pending if it only
 * settles because of them: a test that timed out is not reported twice.
 */
function holdCloseDeadlines (t: { teardown: (fn: () => unknown) => void }): { settled: <T>(p: Promise<T>) => Promise<T> } {
  const real = globalThis.setTimeout
  const held: Array<() => void> = []
  let released = false
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (ms !== CLOSE_DEADLINE_MS) return real(fn, ms, ...args)
    held.push(() => { fn(...args) })
    return real(() => {}, 2 ** 31 - 1)
  }) as typeof setTimeout
  t.teardown(() => {
    globalThis.setTimeout = real
    released = true
    for (const fn of held) fn()
  })
  return { settled: async (p) => await p.then((v) => released ? new Promise<never>(() => {}) : v) }
}

/** A masked client close frame with a status code. */
function clientClose (code: number): Buffer {
  const key = [0x11, 0x22, 0x33, 0x44]
  return Buffer.from([0x88, 0x82, ...key, (code >> 8) ^ key[0]!, (code & 0xff) ^ key[1]!])
}

const UPGRADE = (): string => 'GET /raw HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`

t.test('close completion: backend-initiated close with a ws client (which ends its side at once)', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const hold = holdCloseDeadlines(t)
  const ws = await openWs(wsUrl(gw.port))
  t.teardown(() => { ws.terminate() })
  const c = closed(ws)
  ws.send('close:4002')
  await waitFor(() => b.closeCodes.length === 1, { message: 'the backend completed its close handshake', seen: () => b.closeCodes })
  t.same(b.closeCodes, [4002], 'the backend completed its close handshake')
  t.same(await within(hold.settled(c), { message: 'the gateway closed the client\'s connection (its close event came)' }),
    { code: 4002, reason: 'bye' }, 'the client\'s connection closed: its close event came')
})

t.test('close completion: a client that half-closes right after its close frame', async (t) => {
  const b = await startWsBackend(t, 'b1')
  const gw = await startGateway(t, wsYaml([b]))
  const hold = holdCloseDeadlines(t)
  const sock = net.connect(gw.port, '127.0.0.1')
  t.teardown(() => { sock.destroy() })
  const chunks: Buffer[] = []
  sock.on('data', (c: Buffer) => { chunks.push(c) })
  const ended = once(sock, 'end')
  await once(sock, 'connect')
  sock.write(UPGRADE())
  const received = (): Buffer => Buffer.concat(chunks)
  await waitFor(() => received().includes('\r\n\r\n'), { message: 'the 101 head arrived', seen: () => received().toString('latin1') })
  t.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 101 /)
  sock.end(clientClose(1000))
  await waitFor(() => b.closeCodes.length === 1, { message: 'the backend got the close', seen: () => b.closeCodes })
  t.same(b.closeCodes, [1000], 'the backend got the close')
  await waitFor(() => received().length >= received().indexOf('\r\n\r\n') + 8, { message: 'the close reply arrived', seen: () => [...received().subarray(received().indexOf('\r\n\r\n') + 4)] })
  const all = Buffer.concat(chunks)
  t.same([...all.subarray(all.indexOf('\r\n\r\n') + 4)], [0x88, 0x02, 0x03, 0xe8], 'its close reply came through')
  await within(hold.settled(ended), { message: 'the gateway ended the connection' })
  t.pass('then the gateway ended the connection')
})
