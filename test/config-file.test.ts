// Loading from a file and choosing which file: loadConfigFile (baseDir = the file's folder,
// unreadable file = ConfigError at path "") and resolveConfigPath (--config, GATEWAY_CONFIG,
// default).
import t from 'tap'
import { join, resolve } from 'node:path'
import { loadConfigFile, resolveConfigPath } from '../lib/config/load.js'

const PEM = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n'
const YAML = 'pools:\n  web:\n    backends: [ { url: "http://a:1" } ]\n    tls: { caFile: ca.pem }\nadmin: { token: "${T:-none}" }\n'

t.test('loadConfigFile resolves relative paths against the file\'s folder', async (t) => {
  const dir = t.testdir({ conf: { 'gateway.yaml': YAML, 'ca.pem': PEM } })
  const c = loadConfigFile(join(dir, 'conf', 'gateway.yaml'), { T: 'tok' })
  t.equal(c.pools.web.tls.ca, PEM)
  t.equal(c.admin.token, 'tok', 'the env argument is used for substitution')
})

t.test('loadConfigFile uses process.env by default', async (t) => {
  const dir = t.testdir({ 'gateway.yaml': YAML, 'ca.pem': PEM })
  t.equal(loadConfigFile(join(dir, 'gateway.yaml')).admin.token, process.env.T ?? 'none')
})

t.test('a missing or unreadable file is a ConfigError at path ""', async (t) => {
  const dir = t.testdir({ sub: {} })
  const missing = join(dir, 'nope.yaml')
  t.throws(() => loadConfigFile(missing, {}), {
    name: 'ConfigError',
    code: 'GW_CONFIG_INVALID',
    issues: [{ path: '', message: `cannot read config file ${missing}: file not found` }]
  })
  t.throws(() => loadConfigFile(join(dir, 'sub'), {}), { name: 'ConfigError', issues: [{ path: '', message: /it is a directory, not a file$/ }] })
})

t.test('the file name appears in the message of an invalid file', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'pools: {}\n' })
  const file = join(dir, 'bad.yaml')
  t.throws(() => loadConfigFile(file, {}), { message: `The configuration is invalid: ${file} has 1 issue\npools: must define at least one pool (line 1)` })
})

t.test('resolveConfigPath: --config PATH, --config=PATH, GATEWAY_CONFIG, default', async (t) => {
  const cwd = '/srv/app'
  t.equal(resolveConfigPath(['node', 'server.js', '--config', 'conf/a.yaml'], {}, cwd), '/srv/app/conf/a.yaml')
  t.equal(resolveConfigPath(['--config=/etc/ub.yaml'], { GATEWAY_CONFIG: 'x.yaml' }, cwd), '/etc/ub.yaml', 'the flag beats the env')
  t.equal(resolveConfigPath(['--config', 'a.yaml', '--config=b.yaml'], {}, cwd), '/srv/app/b.yaml', 'the last flag wins')
  t.equal(resolveConfigPath(['--validate'], { GATEWAY_CONFIG: 'env.yaml' }, cwd), '/srv/app/env.yaml')
  t.equal(resolveConfigPath([], { GATEWAY_CONFIG: '' }, cwd), '/srv/app/config/gateway.yaml', 'an empty GATEWAY_CONFIG counts as unset')
  t.equal(resolveConfigPath([], {}, cwd), resolve(cwd, 'config/gateway.yaml'))
  t.equal(resolveConfigPath(['--', '--config', 'x.yaml'], {}, cwd), '/srv/app/config/gateway.yaml', 'nothing after -- is an option')
})

t.test('resolveConfigPath: --config without a path is a ConfigError', async (t) => {
  for (const argv of [['--config'], ['--config='], ['--config', '--validate']]) {
    t.throws(() => resolveConfigPath(argv, {}, '/'), { code: 'GW_CONFIG_INVALID', issues: [{ path: '', message: '--config needs a file path: --config PATH or --config=PATH' }] }, argv.join(' '))
  }
})
