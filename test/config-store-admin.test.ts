// The config store through the admin API (docs/config-store.md): every write is a revision with
// an ETag, If-Match refuses a stale writer (409) and changes nothing, the history says what
// changed; with the file store, a reload of the file keeps the admin API's changes on top (and
// says which no longer apply), a reset drops them, and a store that cannot be written refuses
// writes (503) while the gateway keeps serving.
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../app.js'
import { createLogger } from '../lib/logger.js'
import { openStore } from '../lib/store/open.js'
import { onLoopback } from './helpers/reload-config.js'
import { poolYaml, send, startBackends, startGateway, type TestBackend } from './helpers/gateway.js'
import { parseScrape } from './helpers/metrics.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
type Json = any
interface Call { status: number, json: Json, etag: string | undefined }

async function adminOf (app: FastifyInstance): Promise<(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Call>> {
  await app.adminServer.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.adminServer.server.address() as AddressInfo).port}`
  return async (method, path, body, headers = {}) => {
    const text = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body)
    const r = await send(base + path, { method, headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body: text })
    return { status: r.status, json: r.text === '' ? undefined : JSON.parse(r.text), etag: r.headers.etag as string | undefined }
  }
}

/** A gateway started as server.ts starts it: the config file in `dir`, its store opened first. */
async function startStored (t: Test, dir: string, yaml: string): Promise<{ app: FastifyInstance, path: string }> {
  const path = join(dir, 'gateway.yaml')
  writeFileSync(path, yaml)
  const opened = await openStore(path, {})
  onLoopback(opened.config)
  const app = await buildApp(opened.config, { logger: createLogger({ level: 'warn' }, { write: () => {} }), configPath: path, store: opened })
  t.teardown(() => app.close())
  await app.ready()
  await app.traffic.listen()
  return { app, path }
}

/** Listeners on port 0, in the file itself: a reload of the file must not move them. */
const LISTEN = 'listen: { host: 127.0.0.1, port: 0 }\nadmin: { host: 127.0.0.1, port: 0 }\n'

const ids = (app: FastifyInstance): string[] => app.pools.get('web')!.backends.map((b) => b.id)
const idOf = (b: TestBackend): string => `127.0.0.1:${b.port}`

t.test('every admin write is a new revision with an ETag; If-Match refuses a stale writer and changes nothing', async (t) => {
  const [a, b] = await startBackends(t, 2)
  const gw = await startGateway(t, poolYaml([a!]))
  const call = await adminOf(gw.app)

  const first = await call('GET', '/admin/config')
  t.equal(first.json.revision, 1, 'a new gateway is at revision 1')
  t.equal(first.etag, '"1"', 'GET /admin/config carries it as the ETag')

  const added = await call('POST', '/admin/pools/web/backends', { url: b!.url, weight: 3 }, { 'if-match': '"1"' })
  t.equal(added.status, 201)
  t.match(added.json, { id: idOf(b!), weight: 3, revision: 2 }, 'the answer is the backend and the revision the change produced')
  t.equal(added.etag, '"2"')

  const stale = await call('PATCH', `/admin/pools/web/backends/${idOf(a!)}`, { enabled: false }, { 'if-match': '"1"' })
  t.equal(stale.status, 409, 'a write for revision 1 after revision 2 is refused')
  t.equal(stale.json.error, 'GW_CONFIG_REVISION_MOVED')
  t.match(stale.json.message, /revision 2, not 1/)
  t.equal(gw.app.pools.get('web')!.find(idOf(a!))!.enabled, true, 'and changed nothing')
  t.equal((await call('GET', '/admin/config')).json.revision, 2, 'nor the revision')

  t.equal((await call('PATCH', `/admin/pools/web/backends/${idOf(a!)}`, { enabled: false }, { 'if-match': 'banana' })).status, 400, 'an If-Match that is not a revision is a 400')
  t.equal((await call('PATCH', `/admin/pools/web/backends/${idOf(a!)}`, { enabled: false }, { 'if-match': '*' })).json.revision, 3, 'If-Match: * matches any revision')

  // Two operators who read revision 3 write at once: exactly one wins.
  const both = await Promise.all([
    call('PATCH', `/admin/pools/web/backends/${idOf(b!)}`, { weight: 5 }, { 'if-match': '"3"' }),
    call('PATCH', `/admin/pools/web/backends/${idOf(b!)}`, { weight: 7 }, { 'if-match': '"3"' })
  ])
  t.same(both.map((c) => c.status).sort(), [200, 409], 'one of two writes on the same revision wins, the other gets 409')
  const winner = both.find((c) => c.status === 200)!
  t.equal(gw.app.pools.get('web')!.find(idOf(b!))!.configWeight, winner.json.weight, 'the pool has the winner\'s weight')

  const drained = await call('POST', `/admin/pools/web/backends/${idOf(b!)}/drain`)
  t.equal(drained.status, 202)
  t.equal(drained.json.revision, 5)
  const removed = await call('DELETE', `/admin/pools/web/backends/${idOf(b!)}`)
  t.same(removed.json, { pool: 'web', backend: idOf(b!), removing: true, revision: 6 })
  t.equal((await call('DELETE', '/admin/pools/web/backends/nope')).status, 404, 'a write that fails its check makes no revision')

  const history = await call('GET', '/admin/config/history')
  t.equal(history.json.revision, 6)
  t.same(history.json.history.map((h: Json) => h.revision), [6, 5, 4, 3, 2], 'the history, newest first (revision 1 was no change)')
  t.match(history.json.history[0], { change: `removed backend web/${idOf(b!)}`, via: 'admin', token: null })
  t.match(history.json.history[4].change, `added backend web/${idOf(b!)}`)
  t.match(history.json.history[0].instance, /.+\/\d+$/, 'which gateway made it (host name/pid)')

  const scrape = parseScrape((await send(`http://127.0.0.1:${(gw.app.adminServer.server.address() as AddressInfo).port}/metrics`)).text)
  t.equal(scrape.value('gateway_config_revision'), 6, 'gateway_config_revision is the revision applied')
  t.equal(scrape.value('gateway_config_store_connected'), 1)
})

t.test('PUT /admin/config: the revision in a config read from GET is its If-Match', async (t) => {
  const [a, b] = await startBackends(t, 2)
  const gw = await startGateway(t, poolYaml([a!]))
  const call = await adminOf(gw.app)
  const read = (await call('GET', '/admin/config')).json
  const doc = { revision: read.revision, pools: { web: { backends: [{ url: b!.url }] } } }
  await call('PATCH', `/admin/pools/web/backends/${idOf(a!)}`, { weight: 2 })
  const late = await call('PUT', '/admin/config', doc)
  t.equal(late.status, 409, 'someone changed the config after it was read')
  t.same(ids(gw.app), [idOf(a!)], 'nothing was applied')
  const put = await call('PUT', '/admin/config', { ...doc, revision: 2 })
  t.equal(put.status, 200)
  t.match(put.json, { ok: true, revision: 3 })
  t.equal(put.etag, '"3"')
  t.same(ids(gw.app), [idOf(b!)], 'the posted config serves')
  t.match(put.json.dropped, [/web\/127\.0\.0\.1:\d+ is no longer in the config/], 'the weight change of a backend the new config lacks is said to be dropped')
  t.equal((await call('PUT', '/admin/config', { ...doc, revision: 3 }, { 'if-match': '"2"' })).status, 400, 'If-Match and the body\'s revision must agree')
})

t.test('file store: a reload of the file keeps the admin API\'s changes on top, a reset drops them, and the state file has them', async (t) => {
  const [a, b, c] = await startBackends(t, 3)
  const dir = t.testdir()
  const { app, path } = await startStored(t, dir, poolYaml([a!, b!], LISTEN))
  const call = await adminOf(app)
  await call('POST', '/admin/pools/web/backends', { url: c!.url })
  await call('POST', `/admin/pools/web/backends/${idOf(a!)}/drain`)
  await call('PATCH', `/admin/pools/web/backends/${idOf(b!)}`, { weight: 4 })
  const state = JSON.parse(readFileSync(join(dir, 'gateway-state.json'), 'utf8'))
  t.equal(state.state.revision, 4, 'each change was saved before it was answered')
  t.same(state.state.overrides.web.add.map((x: Json) => x.id), [idOf(c!)])

  // The file gains a pool: a reload applies it and keeps the three changes.
  writeFileSync(path, LISTEN + poolYaml([a!, b!]) + `  api:\n    backends:\n      - url: ${c!.url}\nroutes:\n  - { match: { pathPrefix: /api }, pool: api }\n  - { match: { pathPrefix: / }, pool: web }\n`)
  const reloaded = await call('POST', '/admin/config/reload')
  t.match(reloaded.json, { ok: true, pools: ['web', 'api'], revision: 5, dropped: [] })
  const web = app.pools.get('web')!
  t.same(ids(app), [idOf(a!), idOf(b!), idOf(c!)], 'the added backend is still there')
  t.equal(web.find(idOf(a!))!.draining, true, 'the drain holds')
  t.equal(web.find(idOf(b!))!.configWeight, 4, 'the weight holds')

  // The file now lists c itself: the file's entry is used and the add is said to be dropped.
  writeFileSync(path, poolYaml([a!, b!, c!], LISTEN))
  const overlap = await call('POST', '/admin/config/reload')
  t.match(overlap.json.dropped, [/was added through the admin API and is now in the config/])
  t.match((await call('GET', '/admin/config/history')).json.history[0].change, /reloaded the config file .*dropped: web\/127\.0\.0\.1:\d+ was added/, 'the history says so too')

  const reset = await call('POST', '/admin/config/reset')
  t.match(reset.json, { ok: true, revision: 7 })
  t.equal(app.pools.get('web')!.find(idOf(a!))!.draining, false, 'a reset undoes the drain')
  t.equal(app.pools.get('web')!.find(idOf(b!))!.configWeight, 1, 'and the weight')
  t.same((await call('GET', '/admin/config/store')).json.overrides, {}, 'no admin API change is kept')
})

t.test('file store: a state file that cannot be written refuses admin writes with 503, changes nothing, and says so in a metric', async (t) => {
  const [a, b] = await startBackends(t, 2)
  const dir = t.testdir()
  const { app } = await startStored(t, dir, poolYaml([a!], 'store: { file: { path: ./no/such/folder/state.json } }\n'))
  const call = await adminOf(app)
  const r = await call('POST', '/admin/pools/web/backends', { url: b!.url })
  t.equal(r.status, 503)
  t.equal(r.json.error, 'GW_STORE_UNAVAILABLE')
  t.notMatch(r.json.message, /no\/such|ENOENT/, 'the answer names no path or errno')
  t.same(ids(app), [idOf(a!)], 'the backend was not added')
  t.equal((await call('GET', '/admin/config')).json.revision, 1, 'no revision was made')
  const port = (app.adminServer.server.address() as AddressInfo).port
  t.equal(parseScrape((await send(`http://127.0.0.1:${port}/metrics`)).text).value('gateway_config_store_connected'), 0)
  t.equal((await send(`http://127.0.0.1:${(app.traffic.server().address() as AddressInfo).port}/`)).text, 'b1', 'the gateway keeps serving')
})
