// The embedded config store across restarts of the real `node dist/server.js`
// (docs/config-store.md): admin API changes survive a restart, a config file edited while the
// gateway was stopped is applied with them on top, and a damaged state file is detected, kept
// aside, and replaced by its previous copy or by the config file, saying which.
import t, { type Test } from 'tap'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { send, startBackend, type TestBackend } from './helpers/gateway.js'
import { configFile, exited, run, type Run } from './helpers/process.js'

t.setTimeout(120_000)

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
type Json = any
const TOKEN = 'restart-test-secret'

const yamlOf = (backends: TestBackend[], extra = ''): string => `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0, token: "\${ADMIN_TOKEN}" }
${extra}pools:
  web:
    backends:
${backends.map((b) => `      - url: ${b.url}\n`).join('')}`

interface Gw { r: Run, url: string, admin: string }

async function start (t: Test, path: string): Promise<Gw> {
  const r = run(['--config', path], { ADMIN_TOKEN: TOKEN })
  t.teardown(async () => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return
    r.child.kill('SIGTERM')
    await r.exit
  })
  const line = await r.readyLine
  return { r, url: `http://127.0.0.1:${line.port as number}`, admin: `http://127.0.0.1:${line.adminPort as number}` }
}

async function stop (g: Gw): Promise<void> {
  g.r.child.kill('SIGTERM')
  await exited(g.r)
}

async function call (g: Gw, method: string, path: string, body?: unknown): Promise<{ status: number, json: Json }> {
  const r = await send(g.admin + path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: r.status, json: JSON.parse(r.text) }
}

const backendsOf = async (g: Gw): Promise<Json[]> => (await call(g, 'GET', '/admin/pools/web')).json.backends
const noteOf = (g: Gw, re: RegExp): Record<string, unknown> | undefined => g.r.lines.find((l) => typeof l.msg === 'string' && re.test(l.msg))

t.test('admin changes survive a restart; a file edited while stopped is applied with them on top', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  const dir = t.testdir()
  const path = configFile(dir, yamlOf([a]))
  let g = await start(t, path)
  t.ok(noteOf(g, /config store: seeded from the config file/), 'the first start seeds the store')
  t.equal((await call(g, 'POST', '/admin/pools/web/backends', { url: b.url, weight: 3 })).status, 201)
  t.equal((await call(g, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${a.port}`, { enabled: false })).json.revision, 3)
  await stop(g)

  const stateText = readFileSync(join(dir, 'gateway-state.json'), 'utf8')
  t.ok(stateText.includes('${ADMIN_TOKEN}'), 'the state file keeps the placeholder of the token')
  t.notOk(stateText.includes(TOKEN), 'not the token itself')

  g = await start(t, path)
  t.ok(noteOf(g, /config store: resumed revision 3 \(2 admin API change\(s\)/), 'the restart resumes revision 3 and says so')
  t.same((await backendsOf(g)).map((x: Json) => [x.id, x.weight, x.enabled]), [[`127.0.0.1:${a.port}`, 1, false], [`127.0.0.1:${b.port}`, 3, true]], 'the added backend and the disable are back')
  const served = new Set<string>()
  for (let i = 0; i < 6; i++) served.add((await send(g.url + '/')).text)
  t.same([...served], ['b'], 'traffic goes to the added backend only: a is still disabled')
  t.equal((await call(g, 'GET', '/admin/config')).json.revision, 3)
  await stop(g)

  // Edited while stopped: c joins the file. Applied as a new revision; the admin changes stay.
  writeFileSync(path, yamlOf([a, c]))
  g = await start(t, path)
  t.ok(noteOf(g, /the config file changed since the last run: applied, with 2 admin API change\(s\) on top/))
  t.same((await backendsOf(g)).map((x: Json) => [x.id, x.enabled]), [[`127.0.0.1:${a.port}`, false], [`127.0.0.1:${c.port}`, true], [`127.0.0.1:${b.port}`, true]])
  const history = (await call(g, 'GET', '/admin/config/history')).json
  t.equal(history.revision, 4)
  t.same(history.history.map((h: Json) => h.via), ['start', 'admin', 'admin', 'start'], 'the history survived the restarts')
})

t.test('a damaged state file is detected: the previous copy is used, else the config file, and the damaged one is kept aside', async (t) => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const dir = t.testdir()
  const path = configFile(dir, yamlOf([a]))
  let g = await start(t, path)
  await call(g, 'POST', '/admin/pools/web/backends', { url: b.url })
  await call(g, 'PATCH', `/admin/pools/web/backends/127.0.0.1:${b.port}`, { weight: 9 })
  await stop(g)

  // Cut short, as by a crash in a non-atomic copy or a full disk.
  const state = join(dir, 'gateway-state.json')
  const text = readFileSync(state, 'utf8')
  writeFileSync(state, text.slice(0, Math.floor(text.length / 2)))
  g = await start(t, path)
  t.ok(g.r.lines.some((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.includes(`${state}: not valid JSON`)), 'the damage is logged as an error naming the file')
  t.ok(noteOf(g, /resumed from the previous copy .*gateway-state\.json\.prev \(revision 2\)/), 'the previous copy (revision 2) is used, and the log says so')
  t.same((await backendsOf(g)).map((x: Json) => [x.id, x.weight]), [[`127.0.0.1:${a.port}`, 1], [`127.0.0.1:${b.port}`, 1]], 'revision 2: b added, its later weight change lost with the damaged copy')
  t.ok(readdirSync(dir).some((f) => f.startsWith('gateway-state.json.damaged-')), 'the damaged file is kept beside it')
  await stop(g)

  writeFileSync(state, '{"format":1,"sha256":"0","state":{}}\n')
  writeFileSync(`${state}.prev`, 'garbage')
  g = await start(t, path)
  t.ok(noteOf(g, /started from the config file: no readable state file/), 'with no good copy left, the config file is used, and the log says so')
  t.same((await backendsOf(g)).map((x: Json) => x.id), [`127.0.0.1:${a.port}`])
  t.ok(existsSync(state), 'a new state file was written')
  t.equal((await call(g, 'POST', '/admin/pools/web/backends', { url: b.url })).status, 201, 'and admin writes work again')
})
