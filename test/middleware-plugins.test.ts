import t from 'tap'
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
