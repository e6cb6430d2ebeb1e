// Pool TLS: caFile is read at load, relative to baseDir, into tls.ca; a missing or non-PEM file
// is an issue at pools.X.tls.caFile.
import t from 'tap'
import { join } from 'node:path'
import { ConfigError, loadConfigText } from '../lib/config/load.js'

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n'
const pool = (tls: string): string => `pools:\n  web:\n    backends: [ { url: "https://a:8443" } ]\n    tls: ${tls}\n`

function issuesOf (text: string, baseDir: string): ConfigError['issues'] {
  try { loadConfigText(text, { env: {}, baseDir }) } catch (err) { if (err instanceof ConfigError) return err.issues }
  throw new Error('expected a ConfigError')
}

t.test('caFile is read relative to baseDir', async (t) => {
  const dir = t.testdir({ certs: { 'ca.pem': PEM } })
  const c = loadConfigText(pool('{ caFile: ./certs/ca.pem, servername: api.internal, rejectUnauthorized: false }'), { env: {}, baseDir: dir })
  t.strictSame(c.pools.web.tls, { rejectUnauthorized: false, servername: 'api.internal', caFile: join(dir, 'certs', 'ca.pem'), ca: PEM })
})

t.test('an absolute caFile ignores baseDir', async (t) => {
  const dir = t.testdir({ 'ca.pem': PEM })
  const c = loadConfigText(pool(`{ caFile: "${join(dir, 'ca.pem')}" }`), { env: {}, baseDir: '/nonexistent' })
  t.equal(c.pools.web.tls.ca, PEM)
})

t.test('a missing file, a directory or a non-PEM file is an issue at tls.caFile', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'hello', sub: {} })
  t.same(issuesOf(pool('{ caFile: missing.pem }'), dir),
    [{ path: 'pools.web.tls.caFile', line: 4, message: `cannot read CA file ${join(dir, 'missing.pem')}: file not found` }])
  t.same(issuesOf(pool('{ caFile: sub }'), dir)[0].message, `cannot read CA file ${join(dir, 'sub')}: it is a directory, not a file`)
  t.same(issuesOf(pool('{ caFile: notes.txt }'), dir)[0].message,
    `CA file ${join(dir, 'notes.txt')} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`)
})

t.test('tls keys are checked', async (t) => {
  const issues = issuesOf(pool('{ ca: inline, rejectUnauthorized: 0 }'), '/')
  t.same(issues.map((i) => [i.path, i.message]), [
    ['pools.web.tls.ca', 'unknown key; known keys: caFile, certFile, keyFile, passphrase, rejectUnauthorized, servername'],
    ['pools.web.tls.rejectUnauthorized', 'expected true or false (got the number 0)']
  ])
})

t.test('without baseDir, caFile is relative to the working directory', async (t) => {
  const dir = t.testdir({ 'ca.pem': PEM })
  const cwd = process.cwd()
  process.chdir(dir)
  t.teardown(() => process.chdir(cwd))
  t.equal(loadConfigText(pool('{ caFile: ca.pem }'), { env: {} }).pools.web.tls.ca, PEM)
})
