// Routes: pool references, the implicit catch-all for a single pool, and normalisation of
// match.pathPrefix, match.host, match.headers and match.methods.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import { normaliseHost } from '../lib/config/routes.js'

const ONE = 'pools:\n  web:\n    backends: [ { url: "http://a:1" } ]\n'
const TWO = `${ONE}  api:\n    backends: [ { url: "http://b:1" } ]\n`

function issuesOf (text: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}
const load = (text: string): ReturnType<typeof loadConfigText> => loadConfigText(text, { env: {} })

t.test('a route must name an existing pool', async (t) => {
  t.same(issuesOf(`${TWO}routes:\n  - pool: web\n  - pool: x\n`),
    [{ path: 'routes[1].pool', line: 8, message: 'unknown pool "x"; known pools: web, api' }])
})

t.test('no routes: one pool gets a catch-all, several pools are an error', async (t) => {
  t.strictSame(load(ONE).routes, [{ match: { pathPrefix: '/' }, pool: 'web', stripPrefix: false, maxBodySize: 0, websocket: false }])
  t.same(issuesOf(TWO), [{ path: 'routes', message: 'routes are required when more than one pool is defined (pools: web, api); add routes that say which requests go to which pool' }])
})

t.test('an empty route list is an error', async (t) => {
  t.same(issuesOf(`${ONE}routes: []\n`), [{ path: 'routes', line: 4, message: 'must list at least one route (or leave routes out when there is a single pool)' }])
})

t.test('routes keep their order', async (t) => {
  const c = load(`${TWO}routes:\n  - { match: { pathPrefix: /api }, pool: api }\n  - pool: web\n`)
  t.same(c.routes.map((r) => r.pool), ['api', 'web'])
})

t.test('pathPrefix must start with "/"; a trailing slash is removed', async (t) => {
  const c = load(`${ONE}routes:
  - { match: { pathPrefix: /api/ }, pool: web }
  - { match: { pathPrefix: /a/b// }, pool: web }
  - { match: { pathPrefix: / }, pool: web }
  - { match: { pathPrefix: // }, pool: web }
`)
  t.same(c.routes.map((r) => r.match.pathPrefix), ['/api', '/a/b', '/', '/'])
  t.same(issuesOf(`${ONE}routes:\n  - { match: { pathPrefix: api }, pool: web }\n`),
    [{ path: 'routes[0].match.pathPrefix', line: 5, message: 'must start with "/" (got "api")' }])
  t.same(issuesOf(`${ONE}routes:\n  - { match: { pathPrefix: "/a?b" }, pool: web }\n`)[0].message,
    'must not contain "?", "#" or whitespace: it matches the path only')
})

t.test('match.host is lower-cased with the port stripped; wildcards allowed', async (t) => {
  t.equal(normaliseHost('API.Local'), 'api.local')
  t.equal(normaliseHost('api.local:8080'), 'api.local')
  t.equal(normaliseHost('api.local.'), 'api.local')
  t.equal(normaliseHost('*.Example.com'), '*.example.com')
  t.equal(normaliseHost('10.0.0.1:80'), '10.0.0.1')
  t.equal(normaliseHost('[::1]:8080'), '[::1]')
  t.equal(normaliseHost('[::1]'), '[::1]')
  t.equal(normaliseHost('*'), undefined, 'a bare * is not a host: leave host out to match all')
  t.equal(normaliseHost('a.*.com'), undefined)
  t.equal(normaliseHost('*example.com'), undefined)
  t.equal(normaliseHost('a..b'), undefined)
  t.equal(normaliseHost('-a.com'), undefined)
  t.equal(normaliseHost('http://a.com'), undefined)
  t.equal(normaliseHost('[zz]'), undefined)
  const c = load(`${ONE}routes:\n  - { match: { host: "API.local:8443" }, pool: web }\n`)
  t.equal(c.routes[0].match.host, 'api.local')
  t.same(issuesOf(`${ONE}routes:\n  - { match: { host: "a b" }, pool: web }\n`),
    [{ path: 'routes[0].match.host', line: 5, message: 'invalid host "a b": use a host name (api.example.com), a wildcard (*.example.com) or an IP address' }])
})

t.test('match.headers: names lower-cased, values strings', async (t) => {
  const c = load(`${ONE}routes:\n  - { match: { headers: { X-Canary: "1", x-env: prod } }, pool: web }\n`)
  t.strictSame(c.routes[0].match.headers, { 'x-canary': '1', 'x-env': 'prod' })
  t.same(issuesOf(`${ONE}routes:\n  - { match: { headers: { x-canary: 1 } }, pool: web }\n`), [{
    path: 'routes[0].match.headers.x-canary',
    line: 5,
    message: 'expected a string (got the number 1); quote it in YAML ("1") to make it a string'
  }], 'an unquoted number is an issue with a hint to quote it, not silently converted')
  t.same(issuesOf(`${ONE}routes:\n  - { match: { headers: { "bad header": a } }, pool: web }\n`).map((i) => i.path), ['routes[0].match.headers["bad header"]'])
  t.match(issuesOf(`${ONE}routes:\n  - { match: { headers: { X-A: a, x-a: b } }, pool: web }\n`),
    [{ path: 'routes[0].match.headers.x-a', message: 'header "x-a" is listed twice (header names are case-insensitive)' }])
})

t.test('match.methods: upper-cased tokens, deduplicated, CONNECT rejected', async (t) => {
  const c = load(`${ONE}routes:\n  - { match: { methods: [get, Post, GET, PROPFIND] }, pool: web }\n`)
  t.same(c.routes[0].match.methods, ['GET', 'POST', 'PROPFIND'])
  t.same(issuesOf(`${ONE}routes:\n  - { match: { methods: [GET, connect] }, pool: web }\n`), [{
    path: 'routes[0].match.methods[1]',
    line: 5,
    message: 'CONNECT is not supported: the gateway is a reverse proxy, not a forward proxy'
  }])
  t.same(issuesOf(`${ONE}routes:\n  - { match: { methods: ["GE T"] }, pool: web }\n`)[0],
    { path: 'routes[0].match.methods[0]', line: 5, message: '"GE T" is not a valid HTTP method name' })
  t.same(issuesOf(`${ONE}routes:\n  - { match: { methods: [] }, pool: web }\n`)[0].message,
    'must list at least one method (or leave methods out to match all)')
})

t.test('route fields are type-checked', async (t) => {
  const issues = issuesOf(`${ONE}routes:\n  - { match: { path: /x }, pool: web, stripPrefix: "yes" }\n  - { match: { pathPrefix: /x } }\n`)
  t.same(issues.map((i) => [i.path, i.message]), [
    ['routes[0].match.path', 'unknown key; did you mean pathPrefix?'],
    ['routes[0].stripPrefix', 'expected true or false (got the string "yes")'],
    ['routes[1].pool', 'required key is missing (expected a non-empty string)']
  ])
})
