// Backend URLs: normalised to origin plus base path, default ids "host:port", what is rejected,
// weights, and duplicate ids reported at the second backend.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import { parseBackendUrl } from '../lib/config/pools.js'

function pool (backends: string): string {
  return `pools:\n  web:\n    backends:\n${backends}`
}

function issuesOf (text: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('URLs are normalised and ids default to host:port', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['http://127.0.0.1:9001', 'http://127.0.0.1:9001', '127.0.0.1:9001'],
    ['http://127.0.0.1:9001/', 'http://127.0.0.1:9001', '127.0.0.1:9001'],
    ['HTTP://Backend.Local:80/', 'http://backend.local', 'backend.local:80'],
    ['https://api.internal', 'https://api.internal', 'api.internal:443'],
    ['https://api.internal:443/v1/', 'https://api.internal/v1', 'api.internal:443'],
    ['http://api:8080/base//', 'http://api:8080/base', 'api:8080'],
    ['http://[::1]:9001', 'http://[::1]:9001', '[::1]:9001'],
    ['http://a/b%20c', 'http://a/b%20c', 'a:80']
  ]
  for (const [raw, url, id] of cases) t.same(parseBackendUrl(raw), { url, id }, raw)
})

t.test('unusable URLs are rejected with the reason', async (t) => {
  t.equal(parseBackendUrl('127.0.0.1:9001'), '"127.0.0.1:9001" has no scheme; start it with http:// or https:// (e.g. http://host:port), or tcp:// for a layer-4 pool')
  t.match(parseBackendUrl('localhost:9001'), /has no scheme/)
  t.match(parseBackendUrl('http:a'), /has no scheme/)
  t.equal(parseBackendUrl('ftp://a:1'), 'scheme "ftp" is not supported; use http:// or https:// (e.g. http://host:port), or tcp://host:port')
  t.match(parseBackendUrl('ws://a:1'), /scheme "ws" is not supported/)
  t.match(parseBackendUrl('http://'), /"http:\/\/" is not a valid URL/)
  t.match(parseBackendUrl('not a url'), /has no scheme/)
  t.equal(parseBackendUrl('http://a b:1'), '"http://a b:1" is not a valid URL; write it as http://host:port')
  t.equal(parseBackendUrl('http://user:pw@a:1'), 'must not contain credentials (user:password@)')
  t.equal(parseBackendUrl('http://user@a:1'), 'must not contain credentials (user:password@)')
  t.match(parseBackendUrl('http://a:1/?x=1'), /must not have a query/)
  t.match(parseBackendUrl('http://a:1/?'), /must not have a query/, 'even an empty one')
  t.match(parseBackendUrl('http://a:1/#top'), /or fragment/)
})

t.test('URL issues are at the backend url path', async (t) => {
  const issues = issuesOf(pool('      - url: http://a:1\n      - url: "http://u:p@b:2"\n'))
  t.same(issues, [{ path: 'pools.web.backends[1].url', line: 5, message: 'must not contain credentials (user:password@)' }])
})

t.test('weights are integers from 1 to 10000', async (t) => {
  const c = loadConfigText(pool('      - { url: "http://a:1", weight: 10000 }\n      - { url: "http://b:1", weight: 1 }\n'), { env: {} })
  t.same(c.pools.web.backends.map((b) => b.weight), [10000, 1])
  const issues = issuesOf(pool('      - { url: "http://a:1", weight: 0 }\n      - { url: "http://b:1", weight: 10001 }\n      - { url: "http://c:1", weight: 1.5 }\n'))
  t.same(issues.map((i) => [i.path, i.message]), [
    ['pools.web.backends[0].weight', 'expected an integer from 1 to 10000 (got the number 0)'],
    ['pools.web.backends[1].weight', 'expected an integer from 1 to 10000 (got the number 10001)'],
    ['pools.web.backends[2].weight', 'expected an integer from 1 to 10000 (got the number 1.5)']
  ])
})

t.test('explicit ids are kept', async (t) => {
  const c = loadConfigText(pool('      - { url: "http://a:1", id: web-1 }\n      - { url: "http://a:1", id: web-2 }\n'), { env: {} })
  t.same(c.pools.web.backends.map((b) => [b.id, b.url]), [['web-1', 'http://a:1'], ['web-2', 'http://a:1']],
    'the same URL twice is fine with distinct ids')
})

t.test('a duplicate id is an error at the second backend', async (t) => {
  const derived = issuesOf(pool('      - url: http://a:80\n      - url: http://a/\n'))
  t.same(derived, [{ path: 'pools.web.backends[1].url', line: 5, message: 'duplicate backend id "a:80" (backends[0] has it too); give each backend a distinct id' }],
    'derived ids clash at the url they came from')
  const explicit = issuesOf(pool('      - { url: "http://a:1", id: x }\n      - url: http://b:1\n      - { url: "http://c:1", id: x }\n'))
  t.same(explicit, [{ path: 'pools.web.backends[2].id', line: 6, message: 'duplicate backend id "x" (backends[0] has it too); give each backend a distinct id' }])
  const mixed = issuesOf(pool('      - url: http://b:1\n      - { url: "http://c:1", id: "b:1" }\n'))
  t.same(mixed.map((i) => i.path), ['pools.web.backends[1].id'])
})

t.test('ids only need to be unique within a pool', async (t) => {
  const c = loadConfigText(`pools:
  a: { backends: [ { url: "http://x:1" } ] }
  b: { backends: [ { url: "http://x:1" } ] }
routes: [ { pool: a } ]
`, { env: {} })
  t.equal(c.pools.a.backends[0].id, c.pools.b.backends[0].id)
})

t.test('an empty id or url is a type issue', async (t) => {
  const issues = issuesOf(pool('      - { url: "", id: "" }\n'))
  t.same(issues.map((i) => [i.path, i.message]), [
    ['pools.web.backends[0].url', 'expected a non-empty string (got the string "")'],
    ['pools.web.backends[0].id', 'expected a non-empty string (got the string "")']
  ])
})
