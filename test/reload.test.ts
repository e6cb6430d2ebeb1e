import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadConfigText } from '../lib/config/load.js'
import { poolYaml, send, startBackend, startBackends, startGateway } from './helpers/gateway.js'
import { waitFor, within } from './helpers/wait.js'

const cfg = (yaml: string): ReturnType<typeof loadConfigText> => {
  const c = loadConfigText(yaml, { env: {} })
  c.listen[0]!.port = 0
  return c
}

t.test('steady load through ten reloads: every request answered 2xx; new backends take traffic, removed ones stop', async (t) => {
  const backends = await startBackends(t, 3)
  const [b1, b2, b3] = backends as [typeof backends[0], typeof backends[0], typeof backends[0]]
  const gw = await startGateway(t, poolYaml([b1, b2]))
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => { agent.destroy() })
  const get = async (): Promise<number> => await new Promise((resolve) => {
    http.get(gw.url + '/', { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)) }).on('error', () => resolve(0))
  })
  let stop = false
  const statuses: number[] = []
  // eslint-disable-next-line no-unmodified-loop-condition -- `stop` is set by the test body
  const loops = Array.from({ length: 4 }, async () => { while (!stop) statuses.push(await get()) })
  const sets = [[b1, b2], [b1, b2, b3], [b2, b3], [b3], [b1, b3], [b1, b2, b3], [b2], [b1, b2], [b3, b1], [b1, b2, b3]]
  // Between reloads, the load must have made progress (not just time passing): 10 more answers.
  const progress = async (): Promise<void> => {
    const from = statuses.length
    await waitFor(() => statuses.length >= from + 10, { message: 'the load got 10 more answers', seen: () => statuses.length - from })
  }
  for (const set of sets) {
    await progress()
    await gw.app.reloadConfig(cfg(poolYaml(set)))
  }
  await progress()
  stop = true
  await Promise.all(loops)
  t.ok(statuses.length > 100, `${statuses.length} requests during the reloads`)
  t.same(statuses.filter((s) => s < 200 || s >= 300), [], 'not one non-2xx answer or connection error')
  t.same(gw.app.pools.get('web')!.backends.map((b) => b.id).sort(), [b1, b2, b3].map((b) => `127.0.0.1:${b.port}`).sort())
})

t.test('a backend that survives a reload keeps its state; one that left drains its in-flight request', async (t) => {
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let gotRequest!: () => void
  const arrived = new Promise<void>((resolve) => { gotRequest = resolve })
  const slow = await startBackend(t, 'slow', (_req, res) => { gotRequest(); void held.then(() => res.end('slow done')) })
  const keep = await startBackend(t, 'keep')
  const gw = await startGateway(t, poolYaml([slow, keep]))
  t.teardown(release) // before the gateway closes (teardowns run last first), should a step fail
  const inFlight = send(gw.url + '/')
  await within(arrived, { message: 'the slow backend got the request' })
  await send(gw.url + '/')
  const before = gw.app.pools.get('web')!.find(`127.0.0.1:${keep.port}`)!
  const algorithmBefore = (gw.app.pools.get('web') as unknown as { algorithm: unknown }).algorithm
  await gw.app.reloadConfig(cfg(poolYaml([keep])))
  const after = gw.app.pools.get('web')!.find(`127.0.0.1:${keep.port}`)!
  t.equal(after, before, 'the same backend object, with its state')
  t.equal((gw.app.pools.get('web') as unknown as { algorithm: unknown }).algorithm, algorithmBefore, 'and the same algorithm instance (what it learned survives)')
  t.equal(after.requests, 1, 'its request count survived')
  for (let i = 0; i < 3; i++) t.equal((await send(gw.url + '/')).text, 'keep', 'new requests go to the remaining backend')
  release()
  t.equal((await inFlight).text, 'slow done', 'the request in flight on the removed backend finished')
})

t.test('PUT /admin/config applies a valid config and refuses an invalid one, which changes nothing', async (t) => {
  const [a, b] = await startBackends(t, 2)
  const gw = await startGateway(t, poolYaml([a!]))
  await gw.app.adminServer.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(gw.app.adminServer.server.address() as AddressInfo).port}`
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answer fields freely
  const put = async (body: string): Promise<{ status: number, json: any }> => {
    const r = await send(base + '/admin/config', { method: 'PUT', headers: { 'content-type': 'application/yaml' }, body })
    return { status: r.status, json: JSON.parse(r.text) }
  }
  const bad = await put('pools:\n  web:\n    backends: [ { url: "nope" } ]\n')
  t.equal(bad.status, 400)
  t.equal(bad.json.issues[0].path, 'pools.web.backends[0].url')
  t.equal((await send(gw.url + '/')).text, 'b1', 'the old config keeps serving')
  const good = await put(poolYaml([b!], `listen: { port: ${gw.port} }\nshutdown: { timeout: 5s }\n`))
  t.equal(good.status, 200)
  t.same(good.json, { ok: true, pools: ['web'], needsRestart: ['shutdown'], revision: 2, dropped: [] }, 'a shutdown change is reported as needing a restart, with the revision it produced')
  t.equal((await send(gw.url + '/')).text, 'b2', 'the new config serves')
  t.equal(JSON.parse((await send(base + '/admin/config')).text).pools.web.backends[0].url, b!.url, 'GET /admin/config shows the new one')
  t.equal((await send(base + '/admin/config/reload', { method: 'POST' })).status, 409, 'no file to re-read in this test gateway')
})

t.test('a reload applies what the file says: API drains and disables of surviving backends are undone', async (t) => {
  const [a, b] = await startBackends(t, 2)
  const gw = await startGateway(t, poolYaml([a!, b!]))
  const pool = gw.app.pools.get('web')!
  await pool.drain(`127.0.0.1:${a!.port}`)
  pool.setEnabled(`127.0.0.1:${b!.port}`, false)
  await gw.app.reloadConfig(cfg(poolYaml([a!, b!])))
  t.same(gw.app.pools.get('web')!.snapshot().map((s) => [s.enabled, s.draining, s.ready]), [[true, false, true], [true, false, true]])
})
