import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../app.js'
import { loadConfigText } from '../lib/config/load.js'
import { loadModules, type LoadedModules } from '../lib/config/modules.js'
import type { GatewayConfig } from '../lib/config/types.js'
import { createLogger } from '../lib/logger.js'
import { poolYaml, send, startBackends, type TestBackend } from './helpers/gateway.js'
import { onLoopback } from './helpers/reload-config.js'

/**
 * The modules a config names belong to the gateway built with them: the loaders return what
 * they loaded instead of keeping it in module-level state, so neither a second gateway in the
 * same process nor a later load can change what a built gateway runs.
 */

/** An algorithm that always picks the backend at `index` (baked into the code, not an option). */
const PICK = (index: number): string => `
import { Type } from '@sinclair/typebox'
export default {
  options: Type.Object({}),
  create () {
    let list = []
    return { update (backends) { list = backends }, pick (_ctx, usable) { const b = list[${index}]; return b !== undefined && usable(b) ? b : undefined } }
  }
}
`

/** A middleware plugin that tags every forwarded request with `tag`. */
const TAG = (tag: string): string => `
import fp from 'fastify-plugin'
export default fp(async (app) => { app.addHook('onRequest', async (req) => { req.raw.rawHeaders.push('X-Tag', ${JSON.stringify(tag)}) }) })
`

interface Teardown { teardown (fn: () => unknown): void }

async function listen (t: Teardown, config: GatewayConfig, modules?: LoadedModules): Promise<string> {
  onLoopback(config)
  const app: FastifyInstance = await buildApp(config, { logger: createLogger({ level: 'warn' }, { write: () => {} }), modules })
  t.teardown(() => app.close())
  await app.ready()
  await app.traffic.listen()
  return `http://127.0.0.1:${(app.traffic.server().address() as AddressInfo).port}`
}

const yaml = (backends: TestBackend[], plugin: string): string =>
  poolYaml(backends, `plugins: [ { module: ./${plugin} } ]\n`, '    algorithm: { module: ./pick.mjs }\n')

t.test('two gateways in one process keep their own modules: same algorithm path with other code, other plugins', async (t) => {
  const dir = t.testdir({ 'pick.mjs': PICK(0), 'tag-a.mjs': TAG('a'), 'tag-b.mjs': TAG('b') })
  const backends = await startBackends(t, 2)
  const configA = loadConfigText(yaml(backends, 'tag-a.mjs'), { env: {}, baseDir: dir })
  const modulesA = await loadModules(configA)
  // The same module path now holds other code; B loads it (and its own plugin) before A is built.
  writeFileSync(join(dir, 'pick.mjs'), PICK(1))
  const configB = loadConfigText(yaml(backends, 'tag-b.mjs'), { env: {}, baseDir: dir })
  const modulesB = await loadModules(configB)

  const a = await listen(t, configA, modulesA)
  const b = await listen(t, configB, modulesB)
  for (let i = 0; i < 3; i++) t.equal((await send(a + '/')).text, 'b1', 'A runs the algorithm it loaded (index 0)')
  for (let i = 0; i < 3; i++) t.equal((await send(b + '/')).text, 'b2', 'B runs the one it loaded (index 1)')
  const [b1, b2] = backends as [TestBackend, TestBackend]
  t.same(b1.seen.map((s) => s.headers['x-tag']), ['a', 'a', 'a'], 'A\'s requests carry A\'s plugin\'s tag')
  t.same(b2.seen.map((s) => s.headers['x-tag']), ['b', 'b', 'b'], 'B\'s requests carry B\'s')
})

t.test('buildApp needs no earlier call: it loads the modules a config names itself', async (t) => {
  const dir = t.testdir({ 'pick.mjs': PICK(1), 'tag-a.mjs': TAG('a') })
  const backends = await startBackends(t, 2)
  const url = await listen(t, loadConfigText(yaml(backends, 'tag-a.mjs'), { env: {}, baseDir: dir }))
  const r = await send(url + '/')
  t.equal(r.text, 'b2')
  t.equal(backends[1]!.seen[0]!.headers['x-tag'], 'a')
})
