// Rate-limit counters outlive traffic generations: a reload, even one that builds a new
// generation (a middleware plugin), keeps every client's count (lib/traffic/rate-counters.ts).
import t from 'tap'
import { loadConfigText } from '../lib/config/load.js'
import { poolYaml, send, startBackend, startGateway } from './helpers/gateway.js'

const PLUGIN = `
import fp from 'fastify-plugin'
export default fp(async (app) => {
  app.addHook('onRequest', async (req) => { req.raw.rawHeaders.push('X-Generation', 'new') })
})
`
const limited = (max: number): string => `  - { match: { pathPrefix: /limited }, pool: web, rateLimit: { max: ${max}, window: 1h, key: { header: x-user } } }\n`

t.test('a client keeps its count across reloads that build a new generation, reorder routes or change max', async (t) => {
  const dir = t.testdir({ 'mark.mjs': PLUGIN })
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `routes:\n${limited(3)}  - { pool: web }\n`), {}, dir)
  const alice = async (): Promise<number> => (await send(gw.url + '/limited', { headers: { 'x-user': 'alice' } })).status
  const reload = async (extra: string): Promise<void> => {
    await gw.app.reloadConfig(loadConfigText(poolYaml([b], `listen: { host: 127.0.0.1, port: ${gw.port} }\n${extra}`), { env: {}, baseDir: dir }))
  }
  t.same([await alice(), await alice()], [200, 200], 'two of three used')

  // A plugin forces a new generation (lib/traffic/generation.ts needsNewGeneration).
  await reload(`plugins: [ { module: ./mark.mjs } ]\nroutes:\n${limited(3)}  - { pool: web }\n`)
  t.same([await alice(), await alice()], [200, 429], 'the new generation counts on from two: one more, then 429')
  t.equal(b.seen.at(-1)!.headers['x-generation'], 'new', 'the last forwarded request went through the new generation')

  // Another route ahead of it, and a higher max: same match, so the same counter.
  await reload(`plugins: [ { module: ./mark.mjs } ]\nroutes:\n  - { match: { pathPrefix: /other }, pool: web }\n${limited(5)}  - { pool: web }\n`)
  t.same([await alice(), await alice()], [200, 429], 'count 5 of max 5 after the 429 counted as the fourth: one more, then 429')
  t.equal((await send(gw.url + '/limited', { headers: { 'x-user': 'bob' } })).status, 200, 'bob still has his own budget')
})

t.test('a route whose match changed starts a new count', async (t) => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, poolYaml([b], `routes:\n${limited(1)}  - { pool: web }\n`))
  const alice = async (path: string): Promise<number> => (await send(gw.url + path, { headers: { 'x-user': 'alice' } })).status
  t.same([await alice('/limited'), await alice('/limited')], [200, 429])
  await gw.app.reloadConfig(loadConfigText(poolYaml([b], `listen: { host: 127.0.0.1, port: ${gw.port} }\nroutes:\n  - { match: { pathPrefix: /limited, methods: [GET] }, pool: web, rateLimit: { max: 1, window: 1h, key: { header: x-user } } }\n  - { pool: web }\n`), { env: {} }))
  t.equal(await alice('/limited'), 200, 'the changed route counts from zero')
  t.equal(await alice('/limited'), 429)
})
