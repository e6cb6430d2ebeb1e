// Built-in algorithms' options are checked at load, and each problem is reported at the path of
// the option at fault (and that option's YAML line), with a message that says what is allowed.
// Options are written in block style so the line numbers tell the options apart.
import t, { type Test } from 'tap'
import { ConfigError, loadConfigText, type ConfigIssue } from '../lib/config/load.js'

/** A pool whose algorithm has the given option lines (`name: ...` first); options start on line 5. */
const pool = (...lines: string[]): string =>
  ['pools:', '  web:', '    backends: [ { url: "http://a:1" } ]', '    algorithm:', ...lines.map((l) => `      ${l}`), ''].join('\n')

function issuesOf (text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    loadConfigText(text, { env })
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
  throw new Error('expected a ConfigError')
}

/** The one issue of a config, which must have exactly one. */
function oneIssue (t: Test, text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue {
  const issues = issuesOf(text, env)
  t.equal(issues.length, 1, `one issue: ${JSON.stringify(issues)}`)
  return issues[0]!
}

t.test('consistent-hash without a key: the key is required', async (t) => {
  const i = oneIssue(t, pool('name: consistent-hash', 'method: ring'))
  t.equal(i.path, 'pools.web.algorithm.key')
  t.match(i.message, /^required key is missing \(expected ip, path, \{ header: NAME \} or \{ cookie: NAME \}\)$/)
})

t.test('consistent-hash: a key of the wrong shape names the accepted forms', async (t) => {
  const i = oneIssue(t, pool('name: consistent-hash', 'key: { hdr: x-user }'))
  t.same(i, { path: 'pools.web.algorithm.key', line: 6, message: 'expected ip, path, { header: NAME } or { cookie: NAME } (got a mapping)' })
})

t.test('consistent-hash: an unknown method lists the known ones', async (t) => {
  const i = oneIssue(t, pool('name: consistent-hash', 'key: ip', 'method: nope'))
  t.same(i, { path: 'pools.web.algorithm.method', line: 7, message: 'expected one of: ring, maglev (got the string "nope")' })
})

t.test('consistent-hash: vnodes 0 is out of range', async (t) => {
  const i = oneIssue(t, pool('name: consistent-hash', 'key: ip', 'vnodes: 0'))
  t.same(i, { path: 'pools.web.algorithm.vnodes', line: 7, message: 'expected an integer from 1 to 1000 (got the number 0)' })
})

t.test('consistent-hash maglev: a tableSize that is not prime is an issue at tableSize', async (t) => {
  const i = oneIssue(t, pool('name: consistent-hash', 'key: ip', 'method: maglev', 'tableSize: 65536'))
  t.match(i.message, /prime/)
  t.match(i.message, /65537/, 'suggests the next prime')
  t.equal(i.path, 'pools.web.algorithm.tableSize', 'at the option\'s path')
  t.equal(i.line, 8, 'at the option\'s line')
})

t.test('least-response-time: a negative decay is refused, saying what is allowed', async (t) => {
  const i = oneIssue(t, pool('name: least-response-time', 'decay: -1'))
  t.equal(i.path, 'pools.web.algorithm.decay')
  t.equal(i.line, 6)
  t.match(i.message, /\(got the number -1\)/)
  t.match(i.message, /(at least|from|minimum|>=|≥) ?1\b/, 'the message states the minimum')
})

t.test('adaptive: explore above 1 is refused, saying what is allowed', async (t) => {
  const i = oneIssue(t, pool('name: adaptive', 'explore: 2'))
  t.equal(i.path, 'pools.web.algorithm.explore')
  t.equal(i.line, 6)
  t.match(i.message, /\(got the number 2\)/)
  t.match(i.message, /\b(from 0 to 1|between 0 and 1|0 ?(\.\.|-|–) ?1)\b/, 'the message states the range')
})

t.test('p2c takes no options: any option is an unknown key', async (t) => {
  const i = oneIssue(t, pool('name: p2c', 'choices: 3'))
  t.same(i, { path: 'pools.web.algorithm.choices', line: 6, message: 'unknown key' })
})

t.test('sticky: an inner algorithm that needs a request key of its own is refused at inner', async (t) => {
  const i = oneIssue(t, pool('name: sticky', 'inner: consistent-hash'))
  t.match(i.message, /"consistent-hash" needs a request key of its own/)
  t.equal(i.path, 'pools.web.algorithm.inner', 'at the option\'s path')
  t.equal(i.line, 6, 'at the option\'s line')
})

t.test('options from ${VAR} substitution are converted to the option\'s type', async (t) => {
  const env = { V: '50', E: '0.25', M: 'maglev', D: '1500' }
  const hash = loadConfigText(pool('name: consistent-hash', 'key: ip', 'method: ${M}', 'vnodes: "${V}"'), { env })
  t.same(hash.pools.web!.algorithm, { name: 'consistent-hash', options: { key: 'ip', method: 'maglev', vnodes: 50, tableSize: 65537 } })
  const adaptive = loadConfigText(pool('name: adaptive', 'explore: ${E}'), { env })
  t.equal(adaptive.pools.web!.algorithm.options.explore, 0.25)
  const lrt = loadConfigText(pool('name: least-response-time', 'decay: ${D}'), { env })
  t.same(lrt.pools.web!.algorithm.options, { decay: 1500, failurePenaltyMs: 1000 })
})

t.test('a substituted option that does not convert is reported with the text it came from', async (t) => {
  const i = oneIssue(t, pool('name: consistent-hash', 'key: ip', 'vnodes: ${V}'), { V: 'lots' })
  t.same(i, { path: 'pools.web.algorithm.vnodes', line: 7, message: 'expected an integer from 1 to 1000 (got the string "lots") (value from "${V}")' })
})
