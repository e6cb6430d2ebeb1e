import t from 'tap'
import { readFileSync } from 'node:fs'
import { codes, GatewayError, staticBodies, type ErrorCode } from '../lib/errors.js'
import { repoPath } from './helpers/paths.js'

const doc = readFileSync(repoPath('docs/errors.md'), 'utf8')
/** Rows of the table in docs/errors.md: code, status, origin, retryable. */
const rows = [...doc.matchAll(/^\| (GW_[A-Z_]+) \| (\d{3}) \| (\w+) \| (yes|no) \|/gm)]

t.test('every catalogue entry is documented with the same status, origin and retryability', async (t) => {
  const documented = new Map(rows.map((m) => [m[1]!, m]))
  for (const [key, d] of Object.entries(codes)) {
    t.equal(d.code, key, `${key}: key equals code`)
    const row = documented.get(key)
    t.ok(row, `${key} is in docs/errors.md`)
    if (row === undefined) continue
    t.equal(Number(row[2]), d.status, `${key}: status`)
    t.equal(row[3], d.origin, `${key}: origin`)
    t.equal(row[4] === 'yes', d.retryable, `${key}: retryable`)
  }
  t.same(rows.map((m) => m[1]).sort(), Object.keys(codes).sort(), 'docs list no code the catalogue lacks')
})

t.test('GatewayError fills placeholders, keeps the cause, and renders the client body', async (t) => {
  const cause = new Error('connect ECONNREFUSED 10.0.0.1:80')
  const e = new GatewayError('GW_NO_BACKEND', ['web'], cause)
  t.equal(e.statusCode, 503)
  t.equal(e.cause, cause)
  t.same(JSON.parse(e.toBody()), { error: 'GW_NO_BACKEND', message: 'No backend of pool "web" is ready to take the request; try again later' })
  t.notMatch(e.toBody(), /ECONNREFUSED|10\.0\.0\.1/)
})

t.test('static bodies exist for every argument-free code', async (t) => {
  for (const code of Object.keys(codes) as ErrorCode[]) {
    if (codes[code].message.includes('%s')) t.equal(staticBodies[code], undefined)
    else t.same(JSON.parse(staticBodies[code]!), { error: code, message: codes[code].message })
  }
})
