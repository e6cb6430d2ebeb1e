// YAML syntax errors and line numbers: syntax errors carry js-yaml's line; schema and semantic
// issues carry the line of the offending key or list item, or of the nearest parent for a
// missing key.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'

function issuesOf (text: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('a YAML syntax error is one issue with its line and column', async (t) => {
  const issues = issuesOf('pools:\n  web:\n    backends: [ { url: a }\n  api: x\n')
  t.equal(issues.length, 1)
  t.equal(issues[0].path, '')
  t.equal(issues[0].line, 4)
  t.match(issues[0].message, /^YAML syntax error: .+ \(column \d+\)$/)
})

t.test('bad indentation and duplicate keys are syntax errors', async (t) => {
  t.match(issuesOf('pools:\n  web: {}\n   api: {}\n'), [{ path: '', line: 3, message: /^YAML syntax error: bad indentation/ }])
  t.match(issuesOf('listen: {}\nlisten: {}\npools: {}\n'), [{ path: '', line: 2, message: /^YAML syntax error: duplicated mapping key/ }])
  t.match(issuesOf('? [a]\n: 1\n'), [{ path: '', message: /^YAML syntax error: .*complex keys/ }])
})

t.test('several documents are refused', async (t) => {
  t.same(issuesOf('pools: {}\n---\npools: {}\n'), [{ path: '', message: 'YAML has 2 documents (separated by ---); the config must be a single document' }])
})

t.test('issues point at the line of their key, block and flow style alike', async (t) => {
  const issues = issuesOf(`# comment line 1

listen:
  host: 127.0.0.1
  port: 99999
pools:
  web:
    backends:
      - url: http://a:1
      -
        url: ftp://b
      - { url: "http://c:1", weight: -3 }
    tls:
      rejectUnauthorized: "no"
`)
  t.same(issues.map((i) => [i.path, i.line]), [
    ['listen.port', 5],
    ['pools.web.backends[1].url', 11],
    ['pools.web.backends[2].weight', 12],
    ['pools.web.tls.rejectUnauthorized', 14]
  ])
})

t.test('quoted keys, block scalars and aliases keep lines right', async (t) => {
  const issues = issuesOf(`pools:
  "web":
    backends:
      - &b { url: "http://a:1" }
      - *b
    hostHeader: >-
      backend
      please
admin:
  token: |
    multi
    line
  port: x
`)
  t.same(issues.map((i) => [i.path, i.line]), [
    ['pools.web.backends[1].url', 5],
    ['pools.web.hostHeader', 6],
    ['admin.port', 13]
  ])
  t.match(issues[0].message, /duplicate backend id "a:1"/, 'an alias repeats the anchored value')
})

t.test('items in flow lists inside block mappings have lines too', async (t) => {
  const issues = issuesOf('pools:\n  web:\n    backends:\n      - url: http://a:1\nroutes:\n  - match: { methods: [GET, CONNECT] }\n    pool: web\n')
  t.same(issues.map((i) => [i.path, i.line]), [['routes[0].match.methods[1]', 6]])
})
