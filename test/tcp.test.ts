// Layer-4 (tcp) listeners end to end over real sockets: balancing, byte-exact piping, failover,
// half-close, resets, idle timeout, least-connections, admin and metrics, drains, reloads,
// shutdown, slow backend connects (timeout, drain/shutdown/client leaving meanwhile), circuit
// breaking, listener limits, and the config checks of the tcp section. One assertion marked
// { todo } documents a known limitation (ABANDONED_BUG).
import t from 'tap'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import type { BackendSnapshot } from '../lib/pool.js'
import { deadPort, startGateway, type TestGateway } from './helpers/gateway.js'
import { scrape } from './helpers/metrics.js'
import {
  echoHandler, exchange, refused, startSlowTcpBackend, startTcpBackend, startTcpBackends, tcpClient, until, whoami,
  type TcpBackend
} from './helpers/tcp.js'

interface Test { teardown (fn: () => unknown): void }

interface GwOpts {
  algorithm?: string
  /** Extra lines of the pool, indented by 4 spaces. */
  poolExtra?: string
  /** Extra keys of the tcp listener, e.g. { idleTimeout: '300ms' }. */
  listener?: Record<string, string | number>
  port?: number
}

/** One tcp pool "db" over `backends` and one tcp listener on 127.0.0.1 (port 0 by default). */
function tcpYaml (backends: Array<{ url: string }>, o: GwOpts = {}): string {
  return `pools:
  db:
    algorithm: ${o.algorithm ?? 'round-robin'}
    backends:
${backends.map((b) => `      - url: ${b.url}\n`).join('')}${o.poolExtra ?? ''}tcp:
${listenerYaml(o.port ?? 0, o.listener)}`
}

/**
 * A tcp listener entry. drainTimeout defaults to 100ms here (not 10s) so that a gateway whose
 * connections are still open at teardown closes quickly when a test fails.
 */
function listenerYaml (port: number, extra: Record<string, string | number> = {}): string {
  return `  - listen: { host: 127.0.0.1, port: ${port} }
    pool: db
${Object.entries({ drainTimeout: '100ms', ...extra }).map(([k, v]) => `    ${k}: ${v}\n`).join('')}`
}

interface TcpGateway extends TestGateway { tcpPort: number }

async function startTcpGateway (t: Test, yaml: string): Promise<TcpGateway> {
  const gw = await startGateway(t, yaml)
  const l = gw.app.tcpListeners.listeners[0]
  if (l === undefined) throw new Error('no tcp listener was bound')
  return { ...gw, tcpPort: l.port }
}

/** A config for reloadConfig, shaped as startGateway shapes its own (HTTP listener on 127.0.0.1:0). */
function cfg (yaml: string): ReturnType<typeof loadConfigText> {
  const c = loadConfigText(yaml, { env: {} })
  c.listen.port = 0
  c.listen.host = '127.0.0.1'
  return c
}

async function dead (): Promise<{ url: string, id: string }> {
  const port = await deadPort()
  return { url: `tcp://127.0.0.1:${port}`, id: `127.0.0.1:${port}` }
}

/** Binds a server on a free 127.0.0.1 port (closed in teardown) and returns the port: a port that is taken. */
async function occupy (t: Test): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { s.close() })
  return (s.address() as net.AddressInfo).port
}

async function adminPool (app: FastifyInstance, pool = 'db'): Promise<{ backends: BackendSnapshot[] }> {
  const r = await app.adminServer.inject({ method: 'GET', url: `/admin/pools/${pool}` })
  if (r.statusCode !== 200) throw new Error(`GET /admin/pools/${pool} answered ${r.statusCode}: ${r.body}`)
  return r.json()
}

const snapshotOf = (app: FastifyInstance, id: string): BackendSnapshot => {
  const s = app.pools.get('db')!.snapshot().find((b) => b.id === id)
  if (s === undefined) throw new Error(`no backend ${id}`)
  return s
}
const openTcp = (app: FastifyInstance): number => app.pools.get('db')!.snapshot().reduce((n, b) => n + b.tcpConnections, 0)

const tally = (names: string[]): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const n of names) out[n] = (out[n] ?? 0) + 1
  return out
}

/** Splits "NAME\nREST" as the echo backend answers a connection that began with "whoami\n". */
const split = (data: Buffer): { name: string, rest: string } => {
  const text = data.toString()
  const nl = text.indexOf('\n')
  return { name: text.slice(0, nl), rest: text.slice(nl + 1) }
}

t.test('round-robin over three tcp backends: every connection is echoed, each backend gets two', async (t) => {
  const bs = await startTcpBackends(t, 3)
  const gw = await startTcpGateway(t, tcpYaml(bs))
  const names: string[] = []
  for (let i = 0; i < 6; i++) {
    const payload = `connection ${i}: ` + 'x'.repeat(1000 * i) + '\u00e9\u20ac'
    const r = await exchange(gw.tcpPort, 'whoami\n' + payload)
    t.equal(r.error, undefined, `connection ${i} closed cleanly`)
    t.ok(r.ended, `connection ${i} ended with a FIN`)
    const { name, rest } = split(r.data)
    t.equal(rest, payload, `connection ${i}: the bytes came back unchanged`)
    names.push(name)
  }
  t.same(names, ['t1', 't2', 't3', 't1', 't2', 't3'], 'round-robin order')
  t.same(tally(names), { t1: 2, t2: 2, t3: 2 })
  t.same(bs.map((b) => b.accepted), [2, 2, 2], 'each backend accepted two connections')
})

t.test('an 8 MB transfer comes back intact, and its bytes are counted when the connection closes', async (t) => {
  const bs = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml(bs))
  const size = 8 * 1024 * 1024
  const payload = randomBytes(size)
  const r = await exchange(gw.tcpPort, payload, 15_000)
  t.equal(r.error, undefined)
  t.ok(r.ended)
  t.equal(r.data.length, size, 'as many bytes back as sent')
  t.equal(createHash('sha256').update(r.data).digest('hex'), createHash('sha256').update(payload).digest('hex'), 'the same bytes')
  t.equal(bs[0]!.bytesIn, size, 'the backend received every byte')
  await until(() => openTcp(gw.app) === 0, 'the gateway has closed its side')
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'in' }), size, 'bytes in: all the client sent')
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'out' }), size, 'bytes out: all the client got')
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 1)
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db', backend: bs[0]!.id }), 1)
})

t.test('failover: a backend that refuses connections is skipped', async (t) => {
  t.test('one dead backend among three: every connection succeeds; the dead one has connect errors', async (t) => {
    const [a, b] = await startTcpBackends(t, 2)
    const d = await dead()
    const gw = await startTcpGateway(t, tcpYaml([a!, d, b!]))
    for (let i = 0; i < 6; i++) {
      const r = await exchange(gw.tcpPort, `whoami\nping ${i}`)
      t.equal(r.error, undefined, `connection ${i} was not reset`)
      t.equal(split(r.data).rest, `ping ${i}`, `connection ${i} was echoed`)
    }
    t.equal(a!.accepted + b!.accepted, 6, 'the live backends took all six')
    const m = await scrape(gw.app)
    const errors = m.value('gateway_upstream_errors_total', { pool: 'db', backend: d.id, reason: 'connect' })
    t.ok(errors > 0, `the dead backend has connect errors (${errors})`)
    t.equal(errors, 2, 'one per turn of the dead backend (connections 2 and 5)')
    t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: a!.id }), 0, 'none for the live ones')
    t.equal(m.value('gateway_retries_total', { pool: 'db', reason: 'connect' }), 2, 'each failure was retried')
    t.equal(snapshotOf(gw.app, d.id).inFlight, 0, 'failed attempts leave nothing in flight')
  })

  t.test('all backends dead: the client connection is reset without data', async (t) => {
    const d1 = await dead()
    const d2 = await dead()
    const gw = await startTcpGateway(t, tcpYaml([d1, d2]))
    const r = await exchange(gw.tcpPort, 'whoami\nhello')
    t.equal(r.data.length, 0, 'no data')
    t.equal(r.error, 'ECONNRESET', 'reset, not a clean end')
    const m = await scrape(gw.app)
    t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: d1.id, reason: 'connect' }), 1, 'both were tried')
    t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: d2.id, reason: 'connect' }), 1)
    t.equal(openTcp(gw.app), 0)
    t.same(gw.app.pools.get('db')!.snapshot().map((b) => b.inFlight), [0, 0])
  })

  t.test('retry.attempts: 1 gives the client no second try', async (t) => {
    const a = await startTcpBackend(t, 'alive')
    const d = await dead()
    const gw = await startTcpGateway(t, tcpYaml([d, a], { poolExtra: '    retry: { attempts: 1 }\n' }))
    const first = await exchange(gw.tcpPort, 'whoami\n')
    t.equal(first.data.length, 0, 'the connection that drew the dead backend got nothing')
    t.equal(first.error, 'ECONNRESET')
    const second = await exchange(gw.tcpPort, 'whoami\n')
    t.equal(split(second.data).name, 'alive', 'the next one reaches the live backend')
    t.equal(a.accepted, 1)
  })
})

t.test('half-close is passed on both ways', async (t) => {
  t.test('the client ends its side; a backend that answers only after the FIN is heard', async (t) => {
    const replyOnEnd = await startTcpBackend(t, 'on-end', (socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => { socket.end(`got:${Buffer.concat(chunks).toString()}`) })
    })
    const gw = await startTcpGateway(t, tcpYaml([replyOnEnd]))
    const c = tcpClient(t, gw.tcpPort)
    await c.connected
    c.write('hello ')
    c.end('world')
    const r = await c.waitClosed()
    t.equal(r.data.toString(), 'got:hello world', 'the reply sent after the FIN arrived')
    t.ok(r.ended, 'then the end')
    t.equal(r.error, undefined)
  })

  t.test('the backend ends its side first; the client can still send', async (t) => {
    let heard!: (s: string) => void
    const received = new Promise<string>((resolve) => { heard = resolve })
    const banner = await startTcpBackend(t, 'banner', (socket) => {
      const chunks: Buffer[] = []
      socket.end('bye\n')
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => { heard(Buffer.concat(chunks).toString()) })
    })
    const gw = await startTcpGateway(t, tcpYaml([banner]))
    const c = tcpClient(t, gw.tcpPort, { allowHalfOpen: true })
    await c.waitFor('bye\n')
    await until(() => c.ended, 'the client saw the backend\'s FIN')
    c.write('late ')
    c.end('data')
    t.equal(await received, 'late data', 'what the client sent after the backend\'s FIN reached the backend')
    const r = await c.waitClosed()
    t.equal(r.error, undefined)
  })
})

t.test('idleTimeout: a connection without traffic is closed by the gateway; traffic either way keeps it open', async (t) => {
  t.test('an idle connection is closed', async (t) => {
    const [b] = await startTcpBackends(t, 1)
    const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { idleTimeout: '300ms' } }))
    const { name, client } = await whoami(t, gw.tcpPort)
    t.equal(name, 't1')
    const r = await client.waitClosed()
    t.equal(r.data.toString(), 't1\n', 'nothing after the answer')
    await until(() => b!.open === 0, 'the backend connection is closed too')
    await until(() => openTcp(gw.app) === 0, 'the gateway counts it closed')
    const line = gw.logs.find((l) => l.msg === 'tcp connection closed')
    t.equal(line?.endedBy, 'idle', 'logged as ended by the idle timeout')
  })

  t.test('client traffic keeps the connection open', async (t) => {
    const [b] = await startTcpBackends(t, 1)
    const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { idleTimeout: '400ms' } }))
    const { client } = await whoami(t, gw.tcpPort)
    for (let i = 0; i < 24; i++) { // 24 x 50 ms: three idle timeouts
      t.equal(await client.echo(`p${i}`), `p${i}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.notOk(client.socket.destroyed || client.ended, 'still open')
    await client.waitClosed()
    t.pass('closed once the traffic stopped')
  })

  t.test('backend traffic alone keeps the connection open', async (t) => {
    const ticker = await startTcpBackend(t, 'ticker', (socket) => {
      let n = 0
      const timer = setInterval(() => {
        if (n++ < 20) socket.write('.')
        else clearInterval(timer)
      }, 50)
      socket.on('close', () => { clearInterval(timer) })
    })
    const gw = await startTcpGateway(t, tcpYaml([ticker], { listener: { idleTimeout: '400ms' } }))
    const c = tcpClient(t, gw.tcpPort)
    await c.waitFor(20)
    t.equal(c.text, '.'.repeat(20), 'every tick arrived: the connection outlived several idle timeouts')
    const r = await c.waitClosed()
    t.equal(r.data.length, 20)
  })
})

t.test('least-connections balances open connections', async (t) => {
  const bs = await startTcpBackends(t, 3)
  const gw = await startTcpGateway(t, tcpYaml(bs, { algorithm: 'least-connections' }))
  const held = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(held.map((h) => h.name).sort(), ['t1', 't2', 't3'], 'one each while all are idle')

  const onT2 = held.find((h) => h.name === 't2')!
  onT2.client.end()
  await onT2.client.waitClosed()
  await until(() => snapshotOf(gw.app, bs[1]!.id).tcpConnections === 0, 't2 has no open connection')
  const next = await whoami(t, gw.tcpPort)
  t.equal(next.name, 't2', 'the new connection goes to the backend with none open')

  const more = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(more.map((h) => h.name).sort(), ['t1', 't2', 't3'], 'at one each, one more each')
  t.same(bs.map((b) => snapshotOf(gw.app, b.id).tcpConnections), [2, 2, 2])

  const onT3 = [...held, next, ...more].filter((h) => h.name === 't3')
  t.equal(onT3.length, 2)
  for (const h of onT3) h.client.end()
  await Promise.all(onT3.map(async (h) => await h.client.waitClosed()))
  await until(() => snapshotOf(gw.app, bs[2]!.id).tcpConnections === 0, 't3 has no open connection')
  const last = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(last.map((h) => h.name), ['t3', 't3'], 'with t3 at 0 and 1 and the others at 2, both go to t3')
})

t.test('admin API and metrics count open tcp connections', async (t) => {
  const bs = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml(bs))
  const held = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(held.map((h) => h.name), ['t1', 't2'])

  const open = await adminPool(gw.app)
  t.same(open.backends.map((b) => b.tcpConnections), [1, 1], 'admin: one open connection per backend')
  t.equal(open.backends.reduce((n, b) => n + b.tcpConnections, 0), 2)
  t.same(open.backends.map((b) => b.inFlight), [1, 1], 'open connections count in flight')
  let m = await scrape(gw.app)
  t.equal(m.value('gateway_tcp_connections', { pool: 'db' }), 2, 'gateway_tcp_connections sums to 2')
  t.equal(m.value('gateway_tcp_connections', { pool: 'db', backend: bs[0]!.id }), 1)
  t.equal(m.value('gateway_in_flight_requests', { pool: 'db' }), 2)
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 2)

  for (const h of held) h.client.end()
  await Promise.all(held.map(async (h) => await h.client.waitClosed()))
  await until(() => openTcp(gw.app) === 0, 'both closed at the gateway')
  const closed = await adminPool(gw.app)
  t.same(closed.backends.map((b) => b.tcpConnections), [0, 0], 'admin: none open')
  t.same(closed.backends.map((b) => b.inFlight), [0, 0])
  m = await scrape(gw.app)
  t.equal(m.value('gateway_tcp_connections', { pool: 'db' }), 0, 'gauge back to 0')
  t.ok(m.families.get('gateway_tcp_connections')?.metrics.some((s) => s.labels?.backend === bs[0]!.id), 'the series of a tcp pool stays, at 0')
  t.equal(m.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 2, 'the total keeps counting opened ones')
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'in' }), 14, '"whoami\\n" twice')
  t.equal(m.value('gateway_connection_bytes_total', { kind: 'tcp', pool: 'db', direction: 'out' }), 6, '"t1\\n" and "t2\\n"')
})

t.test('drain: the open connection to a drained backend is ended after drainTimeout; new ones go elsewhere', async (t) => {
  const bs = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml(bs, { listener: { drainTimeout: '200ms' } }))
  const held = await whoami(t, gw.tcpPort)
  const drained = bs.find((b) => b.name === held.name)!
  const other = bs.find((b) => b !== drained)!
  const r = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(drained.id)}/drain` })
  t.equal(r.statusCode, 202)
  t.equal(r.json().draining, true)
  t.equal(r.json().tcpConnections, 1, 'the connection is still open when the drain starts')

  const fresh = [await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort), await whoami(t, gw.tcpPort)]
  t.same(fresh.map((h) => h.name), [other.name, other.name, other.name], 'new connections avoid the draining backend')

  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the gateway ended the drained connection with a FIN')
  t.equal(end.error, undefined, 'not a reset')
  t.ok(drained.endsSeen >= 1, 'the backend got a FIN from the gateway too')
  await until(() => snapshotOf(gw.app, drained.id).tcpConnections === 0 && snapshotOf(gw.app, drained.id).inFlight === 0, 'the drained backend has nothing open')
  for (const h of fresh) t.notOk(h.client.socket.destroyed || h.client.ended, `the connection to ${other.name} is untouched`)
  t.equal(await fresh[0]!.client.echo('still'), 'still')

  const r2 = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(other.id)}/drain` })
  t.equal(r2.statusCode, 202)
  const none = await exchange(gw.tcpPort, 'whoami\n')
  t.equal(none.data.length, 0, 'with every backend draining a new connection gets nothing')
  t.equal(none.error, 'ECONNRESET', 'it is reset')
  t.ok(gw.logs.some((l) => l.msg === 'tcp connection refused: no backend available'), 'and logged')
})

t.test('a reset on one side closes the other side', async (t) => {
  const b = await startTcpBackend(t, 'resetter', (socket, backend) => {
    socket.on('data', (c: Buffer) => { if (c.toString().includes('RESET')) socket.resetAndDestroy() })
    echoHandler(socket, backend)
  })
  const gw = await startTcpGateway(t, tcpYaml([b]))
  const byBackend = await whoami(t, gw.tcpPort)
  byBackend.client.write('RESET')
  const end = await byBackend.client.waitClosed()
  t.equal(end.data.toString().startsWith('resetter\n'), true)
  t.ok(end.ended || end.error !== undefined, 'the client connection was closed when the backend reset its side')
  await until(() => openTcp(gw.app) === 0, 'the gateway counts it closed')
  t.ok(gw.logs.some((l) => l.msg === 'tcp connection closed' && l.endedBy === 'error'), 'logged as ended by an error')

  const byClient = await whoami(t, gw.tcpPort)
  await until(() => b.open === 1, 'the backend has the connection')
  byClient.client.socket.resetAndDestroy()
  await until(() => b.open === 0, 'the backend connection was closed after the client reset its side')
  await until(() => openTcp(gw.app) === 0, 'the gateway counts it closed')
})

t.test('reload: listeners are kept, added and removed; a port that cannot be bound fails the reload and changes nothing', async (t) => {
  const [t1] = await startTcpBackends(t, 1)
  const opts = { listener: { drainTimeout: '200ms' } }
  const yamlA = tcpYaml([t1!], opts)
  const gw = await startTcpGateway(t, yamlA)
  const A = gw.app.tcpListeners.listeners[0]!
  const held = await whoami(t, gw.tcpPort)
  t.equal(held.name, 't1')

  await gw.app.reloadConfig(cfg(yamlA))
  t.equal(gw.app.tcpListeners.listeners.length, 1)
  t.equal(gw.app.tcpListeners.listeners[0], A, 'the same listener object, same address')
  t.equal(await held.client.echo('after reload 1'), 'after reload 1', 'the open connection keeps echoing')

  const portB = await deadPort()
  const yamlAB = yamlA + listenerYaml(portB)
  await gw.app.reloadConfig(cfg(yamlAB))
  t.same(gw.app.tcpListeners.listeners.map((l) => l.port), [gw.tcpPort, portB], 'a second listener was bound')
  t.equal((await whoami(t, portB)).name, 't1', 'the new listener accepts and pipes')
  t.equal(await held.client.echo('after reload 2'), 'after reload 2')

  // A reload whose last new listener's port is taken fails; the listeners stay as they were.
  const blocker = await occupy(t)
  const portD = await deadPort()
  const bad = tcpYaml([t1!], opts) + listenerYaml(portB) + listenerYaml(portD) + listenerYaml(blocker)
  await t.rejects(gw.app.reloadConfig(cfg(bad)), { code: 'EADDRINUSE' }, 'reloadConfig throws')
  t.same(gw.app.tcpListeners.listeners.map((l) => l.port), [gw.tcpPort, portB], 'the running listeners are unchanged')
  t.equal((await refused(portD)).error, 'ECONNREFUSED', 'the listener bound for the failed reload was closed again')
  t.equal(await held.client.echo('after failed reload'), 'after failed reload', 'the open connection keeps echoing')
  t.equal(split((await exchange(gw.tcpPort, 'whoami\nx')).data).rest, 'x', 'listener A still serves')
  t.equal(split((await exchange(portB, 'whoami\ny')).data).rest, 'y', 'listener B still serves')

  // Removing listener A: it stops accepting, its open connection ends after its drainTimeout.
  await gw.app.reloadConfig(cfg(tcpYaml([t1!], { ...opts, port: portB })))
  t.same(gw.app.tcpListeners.listeners.map((l) => l.port), [portB], 'only B is left')
  t.equal((await refused(gw.tcpPort)).error, 'ECONNREFUSED', 'A refuses new connections')
  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the connection on the removed listener was ended by the gateway (FIN)')
  t.equal(end.error, undefined)
  t.equal((await whoami(t, portB)).name, 't1', 'B still works')
})

t.test('reload: a kept listener takes its new pool for new connections; a backend the reload removed is drained', async (t) => {
  const [t1, t2] = await startTcpBackends(t, 2)
  const gw = await startTcpGateway(t, tcpYaml([t1!], { listener: { drainTimeout: '200ms' } }))
  const A = gw.app.tcpListeners.listeners[0]!
  const held = await whoami(t, gw.tcpPort)
  t.equal(held.name, 't1')
  const two = (db: TcpBackend, other: TcpBackend): string => `pools:
  db:
    backends: [ { url: "${db.url}" } ]
  other:
    backends: [ { url: "${other.url}" } ]
tcp:
  - listen: { host: 127.0.0.1, port: 0 }
    pool: other
    drainTimeout: 200ms
`
  await gw.app.reloadConfig(cfg(two(t1!, t2!)))
  t.equal(gw.app.tcpListeners.listeners[0], A, 'the listener is kept')
  t.same([(await whoami(t, gw.tcpPort)).name, (await whoami(t, gw.tcpPort)).name], ['t2', 't2'], 'new connections use the listener\'s new pool')
  t.equal(await held.client.echo('kept'), 'kept', 'the open connection to t1 (still in pool db) is untouched')

  await gw.app.reloadConfig(cfg(two(t2!, t2!)))
  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the connection to t1, which the reload removed, was ended by the gateway (FIN)')
  t.equal(end.error, undefined)
  await until(() => t1!.open === 0, 't1 has no connection left')
})

/**
 * plugins/reload.ts apply() builds the new BackendPools (which take over the running pool's
 * algorithm instance and backends, and update/reset them) before tcpListeners.prepare() binds
 * the new ports; when that bind fails, the running pool is left with the rejected config's
 * backend list in its algorithm and with its API drains undone.
 */

t.test('a reload rejected because a tcp port is taken leaves the running pool as it was', async (t) => {
  const [t1, t2, t3] = await startTcpBackends(t, 3)
  const gw = await startTcpGateway(t, tcpYaml([t1!, t2!]))
  const r = await gw.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(t2!.id)}/drain` })
  t.equal(r.statusCode, 202)
  const blocker = await occupy(t)
  const bad = tcpYaml([t1!, t2!, t3!]) + listenerYaml(blocker)
  await t.rejects(gw.app.reloadConfig(cfg(bad)), { code: 'EADDRINUSE' }, 'the reload is rejected')
  t.same(gw.app.pools.get('db')!.backends.map((b) => b.id), [t1!.id, t2!.id], 'the running pool keeps its backends')
  t.equal(snapshotOf(gw.app, t2!.id).draining, true, 'the API drain of t2 still holds')
  const names: string[] = []
  for (let i = 0; i < 6; i++) names.push(split((await exchange(gw.tcpPort, 'whoami\n')).data).name)
  t.same(names, ['t1', 't1', 't1', 't1', 't1', 't1'], 'new connections go only to the running pool\'s ready backend')
  t.equal(t2!.accepted, 0, 'none to the drained backend')
  t.equal(t3!.accepted, 0, 'none to the backend only the rejected config had')
})

t.test('shutdown: app.close() ends open tcp connections after drainTimeout and resolves; new connections are refused', async (t) => {
  const [b] = await startTcpBackends(t, 1)
  const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { drainTimeout: '200ms' } }))
  const held = await whoami(t, gw.tcpPort)
  const closing = gw.app.close()
  const end = await held.client.waitClosed()
  t.ok(end.ended, 'the client got a FIN')
  t.equal(end.error, undefined, 'not a reset')
  await closing
  t.pass('close resolved')
  t.ok(b!.endsSeen >= 1, 'the backend got a FIN')
  t.equal((await refused(gw.tcpPort)).error, 'ECONNREFUSED', 'the tcp listener is gone')
})

/**
 * lib/tcp/listener.ts open() registers a tunnel whenever its backend connect completes, without
 * checking whether the listener began closing or the backend began draining meanwhile; drains
 * and shutdown only look at the tunnels registered when they start (lib/conn/registry.ts).
 */

/**
 * lib/tcp/listener.ts accepts with pauseOnConnect and only resumes the client socket once the
 * backend connect succeeded, so while connecting it does not read: a client that leaves (FIN)
 * is not noticed, `clientGone` never runs, and the connect goes on, keeps its in-flight slot and
 * opens a connection to the backend that is torn down right away.
 */
const ABANDONED_BUG = 'known limitation: a client that closes while its backend connect is pending is not noticed (paused socket), so the connect is not abandoned (lib/tcp/listener.ts dial)'

t.test('backend connects that take long: connect timeout, a client leaving, a drain or a shutdown meanwhile', async (t) => {
  const slow = await startSlowTcpBackend(t)
  const alive = await startTcpBackend(t, 'alive')
  const opts = { poolExtra: '    timeouts: { connect: 10s }\n', listener: { drainTimeout: '200ms', idleTimeout: 0 } }
  const g1 = await startTcpGateway(t, tcpYaml([slow], opts)) // drained while connecting
  const g2 = await startTcpGateway(t, tcpYaml([slow], opts)) // shut down while connecting
  const g3 = await startTcpGateway(t, tcpYaml([slow, alive], { poolExtra: '    timeouts: { connect: 300ms }\n' })) // connect timeout
  const g4 = await startTcpGateway(t, tcpYaml([slow], opts)) // the client leaves while connecting
  if (!await slow.stall(700)) {
    t.pass('delayed backend connects', { skip: 'could not delay connects to the backend on this system' })
    return
  }
  const [c1, c2, c3, c4] = [g1, g2, g3, g4].map((g) => tcpClient(t, g.tcpPort))
  c1!.write('one')
  c2!.write('two')
  c3!.write('whoami\nthree')
  c4!.write('four')
  const connecting = (g: TcpGateway): boolean => snapshotOf(g.app, slow.id).inFlight === 1 && snapshotOf(g.app, slow.id).tcpConnections === 0
  await until(() => connecting(g1) && connecting(g2) && connecting(g4), 'the gateways are connecting to the backend')

  // While those connects are pending: a drain (gateway 1), a shutdown (gateway 2), a client leaving (gateway 4).
  const r = await g1.app.adminServer.inject({ method: 'POST', url: `/admin/pools/db/backends/${encodeURIComponent(slow.id)}/drain` })
  t.equal(r.statusCode, 202, 'gateway 1: the backend drains while the connect is in progress')
  const closing = g2.app.close()
  c4!.end()
  t.ok(connecting(g1) && connecting(g2) && connecting(g4), 'the connects were still pending')

  // Connect timeout (gateway 3): the connection fails over to the other backend.
  t.equal(await c3!.waitFor('three'), 'alive\nthree', 'gateway 3: after the connect timeout the connection went to the other backend')
  const m3 = await scrape(g3.app)
  t.equal(m3.value('gateway_upstream_errors_total', { pool: 'db', backend: slow.id, reason: 'timeout' }), 1, 'counted as a timeout')

  // The connects complete about 1 s after they began; drainTimeout is 200ms. 4 s is a guard.
  const sleep = async (ms: number): Promise<false> => await new Promise((resolve) => setTimeout(() => { resolve(false) }, ms))
  const [end1, closedInTime] = await Promise.all([
    Promise.race([c1!.closed, sleep(4000)]),
    Promise.race([closing.then(() => true), sleep(4000)])
  ])
  t.ok(end1 !== false, 'gateway 1 ended the connection to the drained backend')
  t.ok(closedInTime, 'gateway 2: app.close() resolved, the late connection ended after drainTimeout')
  if (!closedInTime) {
    t.ok(c2!.text === 'two' && !c2!.ended, 'the connection was established after shutdown began and left open')
    c2!.destroy()
    await closing
  }
  t.equal((await refused(g2.tcpPort)).error, 'ECONNREFUSED', 'gateway 2 is closed')

  await until(() => snapshotOf(g4.app, slow.id).inFlight === 0, 'gateway 4: nothing in flight once the client has left')
  t.equal(snapshotOf(g4.app, slow.id).errors, 0, 'an abandoned connect is not a backend failure')
  const m4 = await scrape(g4.app)
  t.equal(m4.value('gateway_connections_total', { kind: 'tcp', pool: 'db' }), 0, 'gateway 4 gave up the connect of the client that left, and opened no connection for it', { todo: ABANDONED_BUG })
})

t.test('circuit breaker: connect failures open the dead backend\'s circuit; connections keep succeeding', async (t) => {
  const a = await startTcpBackend(t, 'alive')
  const d = await dead()
  const gw = await startTcpGateway(t, tcpYaml([d, a], { poolExtra: '    circuitBreaker: { consecutiveFailures: 2, openDuration: 10s }\n' }))
  for (let i = 0; i < 8; i++) {
    const r = await exchange(gw.tcpPort, `whoami\n${i}`)
    t.equal(r.error, undefined, `connection ${i} succeeded`)
    t.same(split(r.data), { name: 'alive', rest: String(i) })
  }
  const pool = await adminPool(gw.app)
  const byId = new Map(pool.backends.map((b) => [b.id, b]))
  t.equal(byId.get(d.id)?.circuit, 'open', 'the dead backend\'s circuit is open')
  t.equal(byId.get(a.id)?.circuit, 'closed')
  const m = await scrape(gw.app)
  t.equal(m.value('gateway_upstream_errors_total', { pool: 'db', backend: d.id, reason: 'connect' }), 2,
    'two failures opened it; no connection was tried on it after that')
  t.equal(m.value('gateway_circuit_opens_total', { pool: 'db', backend: d.id }), 1)
  t.equal(m.value('gateway_circuit_state', { pool: 'db', backend: d.id }), 1)
  t.equal(a.accepted, 8)
})

t.test('maxConnections: connections over the limit are closed at accept', async (t) => {
  const [b] = await startTcpBackends(t, 1)
  const gw = await startTcpGateway(t, tcpYaml([b!], { listener: { maxConnections: 1 } }))
  const held = await whoami(t, gw.tcpPort)
  const over = await exchange(gw.tcpPort, 'whoami\n')
  t.equal(over.data.length, 0, 'the second connection got nothing')
  t.equal(b!.accepted, 1, 'and never reached the backend')
  held.client.end()
  await held.client.waitClosed()
  await until(() => openTcp(gw.app) === 0, 'the first one is closed')
  await until(async () => (await exchange(gw.tcpPort, 'whoami\n')).data.toString() === 't1\n', 'a new connection is served again')
  t.equal(b!.accepted, 2)
})

t.test('config: the tcp section and tcp:// pools are checked', async (t) => {
  const issuesOf = (text: string): ConfigError['issues'] => {
    try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
    throw new Error('expected a ConfigError')
  }
  const TCP = 'pools:\n  db:\n    backends: [ { url: "tcp://10.0.0.1:5432" } ]\n'

  const ok = loadConfigText(`${TCP}tcp:\n  - listen: { port: 7000 }\n    pool: db\n`, { env: {} })
  t.same(ok.routes, [], 'with only tcp pools there are no routes')
  t.equal(ok.pools.db!.protocol, 'tcp')
  t.same(ok.pools.db!.backends, [{ id: '10.0.0.1:5432', url: 'tcp://10.0.0.1:5432', weight: 1 }])
  t.same(ok.tcp, [{ listen: { host: ok.listen.host, port: 7000 }, pool: 'db', idleTimeout: 300_000, maxConnections: 0, drainTimeout: 10_000 }], 'defaults')
  const mixed = loadConfigText(`${TCP}  web:\n    backends: [ { url: "http://a:1" } ]\n`, { env: {} })
  t.same(mixed.routes.map((r) => r.pool), ['web'], 'a single HTTP pool beside tcp pools still gets the catch-all route')

  const unknown = issuesOf(`${TCP}tcp:\n  - listen: { port: 7000 }\n    pool: nope\n`)
  t.equal(unknown.length, 1)
  t.equal(unknown[0]!.path, 'tcp[0].pool')
  t.match(unknown[0]!.message, /unknown pool "nope"/)
  t.throws(() => loadConfigText(`${TCP}tcp:\n  - listen: { port: 7000 }\n    pool: nope\n`, { env: {} }), /tcp\[0\]\.pool/, 'the message names tcp[0].pool')

  const route = issuesOf(`${TCP}routes:\n  - pool: db\n`)
  t.equal(route[0]?.path, 'routes[0].pool')
  t.match(route[0]?.message, /tcp:\/\//, 'a route cannot use a tcp pool')

  const mix = issuesOf('pools:\n  db:\n    backends: [ { url: "tcp://a:1" }, { url: "http://b:1" } ]\n')
  t.equal(mix[0]?.path, 'pools.db.backends')
  t.match(mix[0]?.message, /mixes tcp:\/\//)

  const noPort = issuesOf('pools:\n  db:\n    backends: [ { url: "tcp://a" } ]\n')
  t.equal(noPort[0]?.path, 'pools.db.backends[0].url')
  t.match(noPort[0]?.message, /needs a port/)

  const withPath = issuesOf('pools:\n  db:\n    backends: [ { url: "tcp://a:1/x" } ]\n')
  t.match(withPath[0]?.message, /must be just tcp:\/\/host:port/)

  const httpCheck = issuesOf(`${TCP}    healthCheck: { active: { type: http } }\n`)
  t.equal(httpCheck[0]?.path, 'pools.db.healthCheck.active.type')
  t.ok(loadConfigText(`${TCP}    healthCheck: { active: { type: tcp } }\n`, { env: {} }), 'a tcp health check is fine')

  const clash = issuesOf(`${TCP}listen: { port: 7000 }\ntcp:\n  - listen: { port: 7000 }\n    pool: db\n`)
  t.equal(clash[0]?.path, 'tcp[0].listen.port', 'a tcp listener cannot take the HTTP listener\'s port')
})
