/**
 * An answer dropped for a retry (a status in retry.statuses) is read and discarded when small,
 * so its connection is reused: a 503 storm must not become a connection storm. A body past the
 * bound (lib/proxy/attempt.ts DISCARD_BYTES) is cut instead.
 */
import t from 'tap'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'

/** Counts the TCP connections a backend's server accepts. */
function countConnections (server: import('node:http').Server): { n: number } {
  const c = { n: 0 }
  server.on('connection', () => { c.n++ })
  return c
}

t.test('a 503 storm over a pool reuses the upstream connections', async (t) => {
  const sick = await startBackend(t, 'sick', (_req, res) => { res.statusCode = 503; res.end('{"error":"busy, try again"}') })
  const well = await startBackend(t, 'well')
  const conns = countConnections(sick.server)
  // Outlier ejection out of reach: the sick backend must stay in the rotation for the whole storm.
  const gw = await startGateway(t, poolYaml([sick, well], '',
    '    retry: { attempts: 2, budget: { percent: 100, minRetries: 100 } }\n    healthCheck: { passive: { consecutiveFailures: 100 } }\n'))
  for (let i = 0; i < 20; i++) t.equal((await send(gw.url + '/')).text, 'well')
  t.equal(sick.seen.length, 10, 'every other request started at the sick backend and was retried')
  t.equal(conns.n, 1, `the 10 dropped 503s came over one connection (${conns.n})`)
})

t.test('a dropped answer with a body past the bound is cut, not read', async (t) => {
  const big = Buffer.alloc(256 * 1024, 'x')
  const sick = await startBackend(t, 'sick', (_req, res) => { res.statusCode = 503; res.end(big) })
  const well = await startBackend(t, 'well')
  const conns = countConnections(sick.server)
  const gw = await startGateway(t, poolYaml([sick, well], '',
    '    retry: { attempts: 2, budget: { percent: 100, minRetries: 100 } }\n    healthCheck: { passive: { consecutiveFailures: 100 } }\n'))
  for (let i = 0; i < 6; i++) t.equal((await send(gw.url + '/')).text, 'well')
  t.equal(sick.seen.length, 3)
  t.ok(conns.n >= 3, `each 256 KiB 503 had its connection closed, so each try needed a new one (${conns.n})`)
})

t.test('a dropped chunked answer is cut once it passes the bound', async (t) => {
  const sick = await startBackend(t, 'sick', (_req, res) => {
    res.statusCode = 503
    // No Content-Length: the bound is found while reading.
    for (let i = 0; i < 16; i++) res.write(Buffer.alloc(16 * 1024, 'y'))
    res.end()
  })
  const well = await startBackend(t, 'well')
  const conns = countConnections(sick.server)
  const gw = await startGateway(t, poolYaml([sick, well], '',
    '    retry: { attempts: 2, budget: { percent: 100, minRetries: 100 } }\n    healthCheck: { passive: { consecutiveFailures: 100 } }\n'))
  for (let i = 0; i < 6; i++) t.equal((await send(gw.url + '/')).text, 'well')
  t.ok(conns.n >= 3, `each 256 KiB chunked 503 had its connection closed (${conns.n})`)
})
