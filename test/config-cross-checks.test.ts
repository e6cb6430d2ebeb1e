// Checks across fields that Node would otherwise reject (or fail on) only at listen time:
// headersTimeout longer than requestTimeout, and the admin server on the gateway's own port.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'

const POOLS = 'pools:\n  web:\n    backends: [ { url: "http://a:1" } ]\n'

function issuesOf (text: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('headersTimeout may not exceed a non-zero requestTimeout', async (t) => {
  t.same(issuesOf(`listen: { headersTimeout: 2m, requestTimeout: 1m }\n${POOLS}`), [{
    path: 'listen.headersTimeout',
    line: 1,
    message: 'must not be longer than listen.requestTimeout (120000 ms > 60000 ms)'
  }])
  t.equal(loadConfigText(`listen: { headersTimeout: 2m, requestTimeout: 0 }\n${POOLS}`, { env: {} }).listen[0]!.headersTimeout, 120_000,
    'requestTimeout 0 (disabled) sets no bound')
  t.equal(loadConfigText(`listen: { headersTimeout: 1m, requestTimeout: 1m }\n${POOLS}`, { env: {} }).listen[0]!.headersTimeout, 60_000, 'equal is fine')
  t.same(issuesOf(`listen: { headersTimeout: 2m, requestTimeout: nope }\n${POOLS}`).map((i) => i.path), ['listen.requestTimeout'],
    'not compared when one of them is already wrong')
})

t.test('the admin server cannot share the gateway\'s port on the same address', async (t) => {
  t.same(issuesOf(`listen: { port: 8080 }\nadmin: { port: 8080 }\n${POOLS}`), [{
    path: 'admin.port',
    line: 2,
    message: '8080 is also listen.port; the admin server needs a port of its own'
  }])
  t.same(issuesOf(`listen: { host: 0.0.0.0, port: 9000 }\nadmin: { host: 127.0.0.1, port: 9000 }\n${POOLS}`).map((i) => i.path), ['admin.port'],
    'a wildcard address overlaps every other')
  const c = loadConfigText(`listen: { host: 10.0.0.1, port: 9000 }\nadmin: { host: 127.0.0.1, port: 9000 }\n${POOLS}`, { env: {} })
  t.equal(c.admin.port, 9000, 'different addresses may share a port number')
  t.equal(loadConfigText(`listen: { port: 0 }\nadmin: { port: 0 }\n${POOLS}`, { env: {} }).admin.port, 0, 'port 0 means any free port')
})
