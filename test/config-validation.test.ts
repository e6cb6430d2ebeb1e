// Schema validation: unknown keys (with a suggestion), wrong types naming the expected type,
// ranges, required sections, and that every issue is reported, not just the first.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'

const POOLS = 'pools:\n  web:\n    backends:\n      - url: http://127.0.0.1:9001\n'

function issuesOf (text: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('an unknown key is an error; a close one gets a suggestion', async (t) => {
  t.same(issuesOf(`listen:\n  prot: 8080\n${POOLS}`), [{ path: 'listen.prot', line: 2, message: 'unknown key; did you mean port?' }])
  t.same(issuesOf(`listen:\n  Host: x\n${POOLS}`)[0].message, 'unknown key; did you mean host?', 'case-insensitive')
  t.same(issuesOf(`${POOLS}    timeout: { connect: 1s }\n`)[0], { path: 'pools.web.timeout', line: 5, message: 'unknown key; did you mean timeouts?' })
})

t.test('an unknown key far from any known one lists the known keys', async (t) => {
  t.same(issuesOf(`listen:\n  color: blue\n${POOLS}`)[0].message,
    'unknown key; known keys: host, port, trustProxy, headersTimeout, requestTimeout, keepAliveTimeout, maxHeaderSize, redirect, tls, http2, http2Limits')
  t.same(issuesOf(`${POOLS}tracing: {}\n`)[0], { path: 'tracing', line: 5, message: 'unknown key; known keys: listen, admin, pools, routes, log, metrics, plugins, shutdown, websocket, tcp, workers, store' })
  t.same(issuesOf(`${POOLS}      - { url: "http://a:1", wieght: 2 }\n`)[0].path, 'pools.web.backends[1].wieght')
})

t.test('wrong types name the path and the expected type', async (t) => {
  const issues = issuesOf(`listen: { host: 1, port: "80", trustProxy: yes }
admin: { token: 12345 }
${POOLS}    hostHeader: client
log: { level: loud, access: 1 }
`)
  t.same(issues, [
    { path: 'listen.host', line: 1, message: 'expected a non-empty string (got the number 1); quote it in YAML ("1") to make it a string' },
    { path: 'listen.port', line: 1, message: 'expected an integer from 0 to 65535 (got the string "80")' },
    { path: 'listen.trustProxy', line: 1, message: 'expected true or false (got the string "yes")' },
    { path: 'admin.token', line: 2, message: 'expected a string (got the number 12345); quote it in YAML ("12345") to make it a string' },
    { path: 'pools.web.hostHeader', line: 7, message: 'expected one of: preserve, backend (got the string "client")' },
    { path: 'log.level', line: 8, message: 'expected one of: fatal, error, warn, info, debug, trace, silent (got the string "loud")' },
    { path: 'log.access', line: 8, message: 'expected true, false, or { sample: 0.1 } (got the number 1)' }
  ])
})

t.test('ports are integers from 0 to 65535; 0 is allowed', async (t) => {
  const issues = issuesOf(`listen: { port: 65536 }\nadmin: { port: -1 }\n${POOLS}`)
  t.same(issues.map((i) => [i.path, i.message]), [
    ['listen.port', 'expected an integer from 0 to 65535 (got the number 65536)'],
    ['admin.port', 'expected an integer from 0 to 65535 (got the number -1)']
  ])
  t.same(issuesOf(`listen: { port: 80.5 }\n${POOLS}`)[0].message, 'expected an integer from 0 to 65535 (got the number 80.5)')
  const c = loadConfigText(`listen: { port: 0 }\nadmin: { port: 0 }\n${POOLS}`, { env: {} })
  t.equal(c.listen[0]!.port, 0)
  t.equal(c.admin.port, 0)
})

t.test('pools is required and must hold a pool with a backend', async (t) => {
  t.same(issuesOf('listen: { port: 1 }\n'), [{ path: 'pools', message: 'required key is missing (expected a mapping)' }])
  t.same(issuesOf('pools: {}\n'), [{ path: 'pools', line: 1, message: 'must define at least one pool' }])
  t.same(issuesOf('pools:\n  web:\n    backends: []\n'), [{ path: 'pools.web.backends', line: 3, message: 'must list at least one backend' }])
  t.same(issuesOf('pools:\n  web:\n    hostHeader: backend\n'), [{ path: 'pools.web.backends', line: 2, message: 'required key is missing (expected a list)' }],
    'a missing key takes the line of its parent')
  t.same(issuesOf('pools:\n  web:\n    backends:\n      - weight: 2\n'), [{ path: 'pools.web.backends[0].url', line: 4, message: 'required key is missing (expected a non-empty string)' }])
  t.same(issuesOf('pools:\n  web:\n'), [{ path: 'pools.web', line: 2, message: 'expected a mapping (got an empty value)' }])
})

t.test('pool names are letters, digits, "-" and "_"', async (t) => {
  const issues = issuesOf(`${POOLS}  "my pool":\n    backends: [ { url: "http://a:1" } ]\n  _x:\n    backends: [ { url: "http://a:1" } ]\nroutes: [ { pool: web } ]\n`)
  t.same(issues.map((i) => [i.path, i.line]), [['pools["my pool"]', 5], ['pools._x', 7]])
  t.match(issues[0].message, /^invalid pool name: use letters, digits, "-" and "_"/)
  t.same(Object.keys(loadConfigText('pools:\n  api-v2_b:\n    backends: [ { url: "http://a:1" } ]\n', { env: {} }).pools), ['api-v2_b'])
})

t.test('a document that is not a mapping, or is empty', async (t) => {
  t.same(issuesOf('- a\n- b\n'), [{ path: '', message: 'expected a mapping with at least a pools section (got a list)' }])
  t.same(issuesOf(''), [{ path: '', message: 'the config is empty; it needs at least a pools section' }])
  t.same(issuesOf('# only a comment\n'), [{ path: '', message: 'the config is empty; it needs at least a pools section' }])
  t.same(issuesOf('~\n'), [{ path: '', message: 'the config is empty; it needs at least a pools section' }])
  t.same(issuesOf('listen:\n'), [
    { path: 'listen', line: 1, message: 'expected a listener ({ host, port, ... }) or a list of them (got an empty value)' },
    { path: 'pools', message: 'required key is missing (expected a mapping)' }
  ], 'an empty section is a type error; issues without a line come last')
})

t.test('every issue is reported, across stages', async (t) => {
  const issues = issuesOf(`listen: { prot: 1, port: x, headersTimeout: 1 lightyear }
admin: { token: "\${NOPE}" }
pools:
  web:
    algorithm: fastest
    backends:
      - url: ftp://a
      - { url: "http://a:1", weight: 0 }
  api:
    backends: []
routes:
  - { pool: nowhere, match: { pathPrefix: api, methods: [CONNECT] } }
log: { level: loud }
`)
  t.same(issues.map((i) => i.path), [
    'listen.prot', 'listen.port', 'listen.headersTimeout',
    'admin.token',
    'pools.web.algorithm',
    'pools.web.backends[0].url',
    'pools.web.backends[1].weight',
    'pools.api.backends',
    'routes[0].pool', 'routes[0].match.pathPrefix', 'routes[0].match.methods[0]',
    'log.level'
  ])
  t.ok(issues.every((i) => typeof i.line === 'number'), 'each has a line')
})

t.test('one issue per path: a value rejected early is not reported again', async (t) => {
  const issues = issuesOf(`listen: { headersTimeout: true }\n${POOLS}`)
  t.equal(issues.length, 1)
})
