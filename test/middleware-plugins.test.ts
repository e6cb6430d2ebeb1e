import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfigText } from '../lib/config/load.js'
import { loadPluginModules } from '../lib/config/modules.js'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'

/** A middleware plugin as a user writes it: plain Fastify hooks, wrapped with fastify-plugin. */
const TAGGER = `
import fp from 'fastify-plugin'
export default fp(async (app, opts) => {
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers['x-block'] !== undefined) return reply.code(403).send({ error: 'blocked by middleware' })
    // What is forwarded is read from the raw header list after the hooks ran.
    req.raw.rawHeaders.push('X-Tag', opts.tag)
  })
  app.addHook('onSend', async (req, reply, payload) => payload)
  app.addHook('onResponse', async (req, reply) => { globalThis.taggedResponses = (globalThis.taggedResponses ?? 0) + 1 })
})
`

t.test('plugins from the config run as Fastify hooks around proxied requests', async (t) => {
  const dir = t.testdir({ 'tagger.mjs': TAGGER })
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b], 'plugins:\n  - { module: ./tagger.mjs, options: { tag: blue } }\n'), {}, dir)
  const r = await send(gw.url + '/')
  t.equal(r.status, 200)
  t.equal(r.text, 'b1')
  t.equal(b.seen[0]!.headers['x-tag'], 'blue', 'a header added by middleware reaches the backend')
  t.equal((globalThis as { taggedResponses?: number }).taggedResponses, 1, 'onResponse ran for the proxied request')
  const blocked = await send(gw.url + '/', { headers: { 'x-block': '1' } })
  t.equal(blocked.status, 403, 'an onRequest hook can answer before the proxy')
  t.equal(b.seen.length, 1, 'and nothing reaches the backend then')
})

t.test('a plugin that fails to load is a config error naming it', async (t) => {
  const dir = t.testdir({ 'broken.mjs': 'export default {{', 'notfn.mjs': 'export default 42' })
  const load = async (module: string): Promise<void> => {
    const cfg = loadConfigText(poolYaml([{ url: 'http://127.0.0.1:9' }], `plugins: [ { module: ${module} } ]\n`), { env: {}, baseDir: dir })
    await loadPluginModules(cfg, 'test.yaml')
  }
  await t.rejects(load('./broken.mjs'), /plugins\[0\]\.module: cannot load plugin module .*broken\.mjs/)
  await t.rejects(load('./missing.mjs'), /plugins\[0\]\.module: cannot load plugin module/)
  await t.rejects(load('./notfn.mjs'), /plugins\[0\]\.module: .*does not export a Fastify plugin/)
})

t.test('a reload re-loads plugins: changed code, options and list take effect, in-flight requests finish', async (t) => {
  const dir = t.testdir({ 'tagger.mjs': TAGGER })
  // A slow backend: one request stays in flight across the reload.
  const slow = await startBackend(t, 'b1', (req, res) => {
    setTimeout(() => { res.end(`tag=${String(req.headers['x-tag'])}`) }, req.url === '/slow' ? 300 : 0)
  })
  const yaml = (tag: string, extra = ''): string => poolYaml([slow], `plugins:\n  - { module: ./tagger.mjs, options: { tag: ${tag} } }\n${extra}`)
  const gw = await startGateway(t, yaml('blue'), {}, dir)
  t.equal((await send(gw.url + '/')).text, 'tag=blue')
  const inFlight = send(gw.url + '/slow')
  await new Promise((resolve) => setTimeout(resolve, 50))

  // New options, and new code in the module file: both are picked up by the reload.
  writeFileSync(join(dir, 'tagger.mjs'), TAGGER.replace("'X-Tag', opts.tag", "'X-Tag', opts.tag + '-v2'"))
  const next = loadConfigText(yaml('green'), { env: {}, baseDir: dir })
  next.listen = gw.app.gatewayConfig.listen // the test gateway listens on port 0
  const summary = await gw.app.reloadConfig(next)
  t.same(summary.needsRestart, [], 'plugins no longer need a restart')
  t.equal((await send(gw.url + '/')).text, 'tag=green-v2')
  const r = await inFlight
  t.equal(r.status, 200, 'the request in flight during the reload finished')
  t.equal(r.text, 'tag=blue', 'under the generation that took it in')

  // The list itself: removing the plugin removes its hooks.
  await gw.app.reloadConfig(loadConfigText(poolYaml([slow], `listen: { port: ${gw.port} }\n`), { env: {}, baseDir: dir }))
  t.equal((await send(gw.url + '/')).text, 'tag=undefined')
  t.equal((await send(gw.url + '/', { headers: { 'x-block': '1' } })).status, 200, 'the blocking hook is gone')

  // A plugin that fails to load fails the reload; the running generation keeps serving.
  writeFileSync(join(dir, 'tagger.mjs'), 'export default {{')
  await t.rejects(gw.app.reloadConfig(loadConfigText(yaml('red', `listen: { port: ${gw.port} }\n`), { env: {}, baseDir: dir })), /plugins\[0\]\.module/)
  t.equal((await send(gw.url + '/')).text, 'tag=undefined')
})

t.test('a reload can add the first rate limit and remove the last', async (t) => {
  const b = await startBackend(t, 'b1')
  const gw = await startGateway(t, poolYaml([b]))
  for (let i = 0; i < 3; i++) t.equal((await send(gw.url + '/')).status, 200)
  const listen = `listen: { port: ${gw.port} }\n`
  await gw.app.reloadConfig(loadConfigText(`${poolYaml([b])}${listen}routes:\n  - { pool: web, rateLimit: { max: 2, window: 1m } }\n`, { env: {} }))
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await send(gw.url + '/')).status)
  t.same(statuses, [200, 200, 429], 'the limit added by reload applies')
  await gw.app.reloadConfig(loadConfigText(poolYaml([b], listen), { env: {} }))
  t.equal((await send(gw.url + '/')).status, 200, 'and is gone after the next reload')
})
