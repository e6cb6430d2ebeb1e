// The tcp section and tcp:// pools are checked when the config loads: defaults, unknown pools,
// routes to tcp pools, mixed schemes, ports, health check types and port clashes.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'

t.test('config: the tcp section and tcp:// pools are checked', async (t) => {
  const issuesOf = (text: string): ConfigError['issues'] => {
    try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
    throw new Error('expected a ConfigError')
  }
  const TCP = 'pools:\n  db:\n    backends: [ { url: "tcp://10.0.0.1:5432" } ]\n'

  const ok = loadConfigText(`${TCP}tcp:\n  - listen: { port: 7000 }\n    pool: db\n`, { env: {} })
  t.same(ok.routes, [], 'with only tcp pools there are no routes')
  t.equal(ok.pools.db!.protocol, 'tcp')
  t.same(ok.pools.db!.backends, [{ id: '10.0.0.1:5432', url: 'tcp://10.0.0.1:5432', weight: 1, enabled: true, drain: false }])
  t.same(ok.tcp, [{ listen: { host: ok.listen[0]!.host, port: 7000 }, pool: 'db', idleTimeout: 300_000, maxConnections: 0, drainTimeout: 10_000 }], 'defaults')
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
