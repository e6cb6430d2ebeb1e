// Pool algorithm: a name or { name, ...options }, normalised to { name, options }; only names in
// algorithms/index.ts `algorithmNames` are accepted, so an unknown one is a startup error.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import { algorithmNames } from '../algorithms/index.js'

const pool = (algorithm: string): string => `pools:\n  web:\n    algorithm: ${algorithm}\n    backends: [ { url: "http://a:1" } ]\n`

function issuesOf (text: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {} }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('a name and an object with options both normalise to { name, options }', async (t) => {
  t.same(loadConfigText(pool('round-robin'), { env: {} }).pools.web.algorithm, { name: 'round-robin', options: {} })
  t.same(loadConfigText(pool('{ name: round-robin }'), { env: {} }).pools.web.algorithm, { name: 'round-robin', options: {} })
})

t.test('options are checked against the algorithm\'s own schema, at their path', async (t) => {
  t.same(issuesOf(pool('{ name: round-robin, choices: 2 }')), [{ path: 'pools.web.algorithm.choices', line: 3, message: 'unknown key' }])
})

t.test('an unknown name lists the known ones', async (t) => {
  const known = algorithmNames.join(', ')
  t.same(issuesOf(pool('least-latency')), [{ path: 'pools.web.algorithm', line: 3, message: `unknown algorithm "least-latency"; known algorithms: ${known}` }])
  t.same(issuesOf(pool('{ name: roundrobin }')), [{ path: 'pools.web.algorithm.name', line: 3, message: `unknown algorithm "roundrobin"; did you mean round-robin? known algorithms: ${known}` }],
    'in the object form the issue is at .name')
})

t.test('the wrong shape is a type issue', async (t) => {
  const expected = 'expected an algorithm name, or a mapping with a name (or module) key plus the algorithm\'s options'
  t.same(issuesOf(pool('{ choices: 2 }')), [{ path: 'pools.web.algorithm.name', line: 3, message: 'required: the algorithm\'s name, or module: PATH for a custom algorithm' }])
  t.same(issuesOf(pool('7')), [{ path: 'pools.web.algorithm', line: 3, message: `${expected} (got the number 7)` }])
  t.same(issuesOf(pool('""')), [{ path: 'pools.web.algorithm', line: 3, message: `${expected} (got the string "")` }])
})
