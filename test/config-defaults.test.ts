// Defaults: a minimal config (one pool, one backend) comes back fully populated with the
// documented defaults, in the normalised units of lib/config/types.ts.
import t from 'tap'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { DEFAULT_BUCKETS } from '../lib/metrics/types.js'
import { DEFAULTS, loadConfigText } from '../lib/config/load.js'
import type { GatewayConfig } from '../lib/config/types.js'

const MINIMAL = 'pools:\n  web:\n    backends:\n      - url: http://127.0.0.1:9001\n'

t.test('a minimal config gets every default', async (t) => {
  const expected: GatewayConfig = {
    listen: [{ host: '127.0.0.1', port: 8080, trustProxy: false, headersTimeout: 10_000, requestTimeout: 300_000, keepAliveTimeout: 65_000, maxHeaderSize: 16_384, http2: false, http2Limits: { maxConcurrentStreams: 100, headerTableSize: 4096, maxSessionMemory: 10_485_760, streamResetBurst: 500, streamResetRate: 20, maxOutstandingPings: 10, maxSettings: 32 } }],
    admin: { host: '127.0.0.1', port: 9901, token: '' },
    pools: {
      web: {
        name: 'web',
        protocol: 'http',
        upstream: 'http1',
        algorithm: { name: 'round-robin', options: {} },
        backends: [{ id: '127.0.0.1:9001', url: 'http://127.0.0.1:9001', weight: 1, enabled: true, drain: false }],
        timeouts: { connect: 5_000, request: 60_000, idle: 4_000 },
        tls: { rejectUnauthorized: true },
        hostHeader: 'preserve',
        slowStart: 0,
        healthCheck: {},
        retry: {
          attempts: 2,
          perTryTimeout: 0,
          backoff: { base: 25, max: 250 },
          statuses: [502, 503, 504],
          methods: ['GET', 'HEAD', 'OPTIONS', 'TRACE'],
          maxReplayBody: 65_536,
          grpcStatuses: [],
          budget: { percent: 20, window: 10_000, minRetries: 10 }
        },
        panicThreshold: 0
      }
    },
    routes: [{ match: { pathPrefix: '/' }, pool: 'web', stripPrefix: false, maxBodySize: 0, websocket: false }],
    log: { level: 'info', access: true, accessSample: 1 },
    plugins: [],
    metrics: { enabled: true, path: '/metrics', onClientListener: false, buckets: DEFAULT_BUCKETS, backendBuckets: DEFAULT_BUCKETS, grpcMethods: false },
    shutdown: { timeout: 30_000 },
    websocket: { drainTimeout: 10_000 },
    tcp: [],
    workers: { count: 1, setting: 1, debugHeader: false },
    store: { file: { path: resolve('gateway-state.json') }, history: 100, instance: `${hostname()}/${process.pid}` }
  }
  t.strictSame(loadConfigText(MINIMAL, { env: {} }), expected)
})

t.test('DEFAULTS holds the same values, in ms and bytes, and is frozen', async (t) => {
  t.same(DEFAULTS.listen, { host: '127.0.0.1', port: 8080, trustProxy: false, headersTimeout: 10_000, requestTimeout: 300_000, keepAliveTimeout: 65_000, maxHeaderSize: 16_384, http2Limits: { maxConcurrentStreams: 100, headerTableSize: 4096, maxSessionMemory: 10_485_760, streamResetBurst: 500, streamResetRate: 20, maxOutstandingPings: 10, maxSettings: 32 } })
  t.same(DEFAULTS.admin, { host: '127.0.0.1', port: 9901, token: '' })
  t.same(DEFAULTS.pool, { algorithm: 'round-robin', hostHeader: 'preserve', slowStart: 0, timeouts: { connect: 5_000, request: 60_000, idle: 4_000 }, tls: { rejectUnauthorized: true } })
  t.same(DEFAULTS.backend, { weight: 1, enabled: true, drain: false })
  t.same(DEFAULTS.route, { pathPrefix: '/', stripPrefix: false, maxBodySize: 0 })
  t.same(DEFAULTS.log, { level: 'info', access: true })
  t.same(DEFAULTS.shutdown, { timeout: 30_000 })
  t.same(DEFAULTS.websocket, { drainTimeout: 10_000 })
  t.same(DEFAULTS.tcp, { idleTimeout: 300_000, maxConnections: 0, drainTimeout: 10_000 })
  t.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.listen) && Object.isFrozen(DEFAULTS.pool.timeouts))
})

t.test('partial sections keep defaults for the keys left out', async (t) => {
  const c = loadConfigText(`listen: { port: 0 }
admin: { token: secret }
log: { level: debug }
${MINIMAL}    timeouts: { connect: 1s }
    tls: { servername: api.internal }
`, { env: {} })
  t.same(c.listen, [{ ...DEFAULTS.listen, port: 0, http2: false }])
  t.same(c.admin, { ...DEFAULTS.admin, token: 'secret' })
  t.same(c.log, { level: 'debug', access: true, accessSample: 1 })
  t.same(c.pools.web.timeouts, { connect: 1000, request: 60_000, idle: 4_000 })
  t.strictSame(c.pools.web.tls, { rejectUnauthorized: true, servername: 'api.internal' })
})

t.test('route defaults: match, pathPrefix, stripPrefix, maxBodySize', async (t) => {
  const c = loadConfigText(`${MINIMAL}routes:\n  - pool: web\n  - { match: { host: a.local }, pool: web }\n`, { env: {} })
  t.strictSame(c.routes, [
    { match: { pathPrefix: '/' }, pool: 'web', stripPrefix: false, maxBodySize: 0, websocket: false },
    { match: { host: 'a.local', pathPrefix: '/' }, pool: 'web', stripPrefix: false, maxBodySize: 0, websocket: false }
  ])
})

t.test('the full example from the brief loads', async (t) => {
  const c = loadConfigText(`listen: { host: 127.0.0.1, port: 8080, trustProxy: false, headersTimeout: 10s, requestTimeout: 5m, keepAliveTimeout: 65s, maxHeaderSize: 16kb }
admin:  { host: 127.0.0.1, port: 9901, token: "\${GATEWAY_ADMIN_TOKEN:-}" }
pools:
  web:
    algorithm: round-robin
    backends:
      - url: http://127.0.0.1:9001
      - { url: http://127.0.0.1:9002, weight: 2, id: web-2 }
    timeouts: { connect: 2s, request: 30s, idle: 60s }
    hostHeader: preserve
  api:
    algorithm: { name: round-robin }
    backends: [ { url: "https://api.internal/v1/" } ]
    hostHeader: backend
routes:
  - { match: { host: api.local, pathPrefix: /api, headers: { x-canary: "1" }, methods: [GET] }, pool: api, stripPrefix: true, maxBodySize: 10mb }
  - { match: { pathPrefix: / }, pool: web }
log: { level: info, access: true }
shutdown: { timeout: 30s }
`, { env: {} })
  t.same(c.pools.web.backends, [
    { id: '127.0.0.1:9001', url: 'http://127.0.0.1:9001', weight: 1, enabled: true, drain: false },
    { id: 'web-2', url: 'http://127.0.0.1:9002', weight: 2, enabled: true, drain: false }
  ])
  t.same(c.pools.api.backends, [{ id: 'api.internal:443', url: 'https://api.internal/v1', weight: 1, enabled: true, drain: false }])
  t.equal(c.pools.api.hostHeader, 'backend')
  t.strictSame(c.routes[0], {
    match: { host: 'api.local', pathPrefix: '/api', headers: { 'x-canary': '1' }, methods: ['GET'] },
    pool: 'api',
    stripPrefix: true,
    maxBodySize: 10 * 1024 * 1024,
    websocket: false
  })
  t.same(Object.keys(c.pools), ['web', 'api'], 'pool order follows the file')
})
