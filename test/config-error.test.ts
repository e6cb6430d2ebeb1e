// ConfigError: a catalogue error (GW_CONFIG_INVALID) carrying every issue; its message lists
// them one per line as "path: message (line N)", with no stack trace.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import { GatewayError, codes } from '../lib/errors.js'

const BAD = `listen:
  prot: 1
pools:
  web:
    backends: []
`

function caught (text: string, source?: string): ConfigError {
  try { loadConfigText(text, { env: {}, source }) } catch (err) { if (err instanceof ConfigError) return err }
  throw new Error('expected a ConfigError')
}

t.test('shape: code, name, issues, catalogue fields', async (t) => {
  const err = caught(BAD)
  t.ok(err instanceof Error)
  t.ok(err instanceof GatewayError, 'a catalogue error, so an admin endpoint can send it as is')
  t.equal(err.name, 'ConfigError')
  t.equal(err.code, 'GW_CONFIG_INVALID')
  t.equal(err.statusCode, codes.GW_CONFIG_INVALID.status)
  t.equal(err.retryable, false)
  t.same(err.issues, [
    { path: 'listen.prot', line: 2, message: 'unknown key; did you mean port?' },
    { path: 'pools.web.backends', line: 5, message: 'must list at least one backend' }
  ])
})

t.test('the message lists every issue, one per line', async (t) => {
  t.equal(caught(BAD, 'config/gateway.yaml').message, [
    'The configuration is invalid: config/gateway.yaml has 2 issues',
    'listen.prot: unknown key; did you mean port? (line 2)',
    'pools.web.backends: must list at least one backend (line 5)'
  ].join('\n'))
  t.equal(caught('pools: {}\nroutes: 1\n').message, [
    'The configuration is invalid: config has 2 issues',
    'pools: must define at least one pool (line 1)',
    'routes: expected a list (got the number 1) (line 2)'
  ].join('\n'), 'without a source the file is called "config"')
})

t.test('issues without a path or a line print without them', async (t) => {
  const err = new ConfigError([{ path: '', message: 'whole-file problem' }, { path: 'routes', message: 'no line' }])
  t.equal(err.message, 'The configuration is invalid: config has 2 issues\nwhole-file problem\nroutes: no line')
})

t.test('no stack trace or source snippet leaks into the message', async (t) => {
  const err = caught('pools: [\n')
  t.notMatch(err.message, /\n\s+at /)
  t.notMatch(err.message, /\^/, 'js-yaml\'s code snippet is left out')
  t.equal(err.message.split('\n').length, 2)
  t.same(JSON.parse(err.toBody()), { error: 'GW_CONFIG_INVALID', message: err.message })
})
