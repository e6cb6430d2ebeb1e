// Environment substitution: ${VAR}, ${VAR:-default}, $${ escapes, unset variables as issues at
// the field path, and coercion of whole-value substitutions to the schema's type.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import { substituteString } from '../lib/config/env.js'

const POOLS = 'pools:\n  web:\n    backends:\n      - url: http://127.0.0.1:9001\n'

function issuesOf (text: string, env: NodeJS.ProcessEnv): ConfigError['issues'] {
  try { loadConfigText(text, { env }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('substituteString forms', async (t) => {
  const problems: string[] = []
  const sub = (s: string, env: NodeJS.ProcessEnv = {}): string => substituteString(s, env, (m) => problems.push(m))
  t.equal(sub('${A}', { A: 'x' }), 'x')
  t.equal(sub('http://${HOST}:${PORT}/v1', { HOST: 'h', PORT: '1' }), 'http://h:1/v1', 'several, mid-string')
  t.equal(sub('${A:-dflt}'), 'dflt', 'default when unset')
  t.equal(sub('${A:-dflt}', { A: '' }), 'dflt', 'default when set but empty, as in sh')
  t.equal(sub('${A:-}'), '', 'empty default')
  t.equal(sub('${A:-a:b-c d}'), 'a:b-c d', 'defaults are literal text')
  t.equal(sub('${A}', { A: '' }), '', 'set but empty without default is allowed')
  t.equal(sub('$${A} costs $5 and $$'), '${A} costs $5 and $$', '$${ is a literal ${; other $ stay')
  t.equal(sub('${A}', { A: '${B}', B: 'no' }), '${B}', 'values are not substituted again')
  t.same(problems, [])
  t.equal(sub('a${MISSING}b'), 'ab')
  t.equal(sub('${1BAD}'), '')
  t.equal(sub('x${UNCLOSED'), 'x')
  t.match(problems, [
    /^environment variable MISSING is not set; set it, or give a default with \$\{MISSING:-default\}$/,
    /^malformed substitution "\$\{1BAD\}"/,
    /^unclosed "\$\{"/
  ])
})

t.test('substitution in the middle of a field, and a default', async (t) => {
  const c = loadConfigText(`admin: { token: "\${TOKEN:-}" }
pools:
  web:
    backends:
      - url: http://\${HOST}:9001/\${BASE:-api}
`, { env: { HOST: 'backend.internal' } })
  t.equal(c.admin.token, '')
  t.equal(c.pools.web.backends[0].url, 'http://backend.internal:9001/api')
  t.equal(c.pools.web.backends[0].id, 'backend.internal:9001')
})

t.test('an unset variable without default is an issue at the field path', async (t) => {
  const issues = issuesOf(`admin:\n  token: \${GATEWAY_ADMIN_TOKEN}\n${POOLS}`, {})
  t.same(issues, [{
    path: 'admin.token',
    line: 2,
    message: 'environment variable GATEWAY_ADMIN_TOKEN is not set; set it, or give a default with ${GATEWAY_ADMIN_TOKEN:-default}'
  }])
})

t.test('every unset variable is reported, including in lists', async (t) => {
  const issues = issuesOf('pools:\n  web:\n    backends:\n      - url: http://${H1}:1\n      - url: http://${H2}:2\n', {})
  t.same(issues.map((i) => [i.path, i.line]), [['pools.web.backends[0].url', 4], ['pools.web.backends[1].url', 5]])
})

t.test('a whole-value substitution takes the schema type', async (t) => {
  const c = loadConfigText(`listen:
  port: \${PORT:-8080}
  trustProxy: \${TP:-false}
  headersTimeout: \${HT:-2s}
  requestTimeout: \${RT}
admin:
  port: "\${ADMIN_PORT}"
  token: \${TOKEN}
${POOLS}`, { env: { RT: '90000', ADMIN_PORT: '0', TOKEN: '12345' } })
  t.equal(c.listen[0]!.port, 8080, 'default coerced to an integer')
  t.equal(c.listen[0]!.trustProxy, false, 'to a boolean')
  t.equal(c.listen[0]!.headersTimeout, 2000, 'durations keep their string form')
  t.equal(c.listen[0]!.requestTimeout, 90_000, 'a numeric string is a number of ms')
  t.equal(c.admin.port, 0, 'quoted in flow or not, the whole value is coerced')
  t.equal(c.admin.token, '12345', 'a string field stays a string even when the value looks numeric')
})

t.test('booleans and weights from the environment', async (t) => {
  const c = loadConfigText(`listen: { trustProxy: "\${TP}" }
pools:
  web:
    backends:
      - { url: http://127.0.0.1:9001, weight: "\${W}" }
    tls: { rejectUnauthorized: "\${RU}" }
`, { env: { TP: 'TRUE', W: '3', RU: 'false' } })
  t.equal(c.listen[0]!.trustProxy, true)
  t.equal(c.pools.web.backends[0].weight, 3)
  t.equal(c.pools.web.tls.rejectUnauthorized, false)
})

t.test('a substituted value that does not fit the type names the substitution', async (t) => {
  const issues = issuesOf(`listen:\n  port: \${PORT}\n  trustProxy: \${TP}\n${POOLS}`, { PORT: 'eighty', TP: 'yes' })
  t.same(issues, [
    { path: 'listen.port', line: 2, message: 'expected an integer from 0 to 65535 (got the string "eighty") (value from "${PORT}")' },
    { path: 'listen.trustProxy', line: 3, message: 'expected true or false (got the string "yes") (value from "${TP}")' }
  ])
  const range = issuesOf(`listen:\n  port: \${PORT}\n${POOLS}`, { PORT: '70000' })
  t.same(range.map((i) => i.message), ['expected an integer from 0 to 65535 (got the number 70000) (value from "${PORT}")'])
})

t.test('a partial substitution is never coerced, and issues still name it', async (t) => {
  const issues = issuesOf('pools:\n  web:\n    backends:\n      - url: ${SCHEME}://x:1\n', { SCHEME: 'ftp' })
  t.equal(issues.length, 1)
  t.equal(issues[0].path, 'pools.web.backends[0].url')
  t.match(issues[0].message, /^scheme "ftp" is not supported.*\(value from "\$\{SCHEME\}:\/\/x:1"\)$/)
})

t.test('environment values cannot inject YAML structure', async (t) => {
  const c = loadConfigText(`admin: { token: "\${T}" }\n${POOLS}`, { env: { T: 'x\nlisten: { port: 1 }\n{ a: [' } })
  t.equal(c.admin.token, 'x\nlisten: { port: 1 }\n{ a: [')
  t.equal(c.listen[0]!.port, 8080)
})

t.test('keys are not substituted; algorithm options take their schema\'s types', async (t) => {
  const issues = issuesOf(`listen: { "\${K}": 1 }\n${POOLS}`, { K: 'port' })
  t.same(issues.map((i) => i.path), ['listen.${K}'])
  t.match(issues[0].message, /^unknown key/)
  const c = loadConfigText('pools:\n  web:\n    algorithm: { name: sticky, maxAge: "${N}" }\n    backends: [ { url: "http://a:1" } ]\n', { env: { N: '2' } })
  t.same(c.pools.web.algorithm, { name: 'sticky', options: { maxAge: 2, cookie: 'ub_affinity', inner: 'round-robin' } }, 'converted to the integer the schema asks for, defaults filled in')
})

t.test('a substitution in flow style needs quotes (YAML reads { and } as structure)', async (t) => {
  const issues = issuesOf(`listen: { port: \${PORT} }\n${POOLS}`, { PORT: '1' })
  t.match(issues, [{ path: '', line: 1, message: /^YAML syntax error/ }])
})

t.test('process.env is the default environment', async (t) => {
  const name = 'UB_CONFIG_ENV_TEST_TOKEN'
  process.env[name] = 'from-process'
  t.teardown(() => { delete process.env[name] })
  const c = loadConfigText(`admin: { token: "\${${name}}" }\n${POOLS}`)
  t.equal(c.admin.token, 'from-process')
})
