import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfigText } from '../lib/config/load.js'
import { loadAlgorithmModules } from '../lib/config/modules.js'
import { poolYaml, send, startBackends, startGateway } from './helpers/gateway.js'

/** A custom algorithm as a user writes it: always the backend at `offset` while it is usable. */
const FIXED = (label: string): string => `
import { Type } from '@sinclair/typebox'
export default {
  options: Type.Object({ offset: Type.Integer({ minimum: 0, default: 0 }) }, { additionalProperties: false }),
  create (options) {
    let list = []
    return {
      label: ${JSON.stringify(label)},
      update (backends) { list = backends },
      pick (_ctx, usable) {
        for (let i = 0; i < list.length; i++) {
          const b = list[(options.offset + i) % list.length]
          if (usable(b)) return b
        }
        return undefined
      }
    }
  }
}
`

const algo = (extra = ''): string => `    algorithm: { module: ./fixed.mjs${extra} }\n`

t.test('a custom module is loaded at startup, gets its options, and balances real traffic', async (t) => {
  const dir = t.testdir({ 'fixed.mjs': FIXED('v1') })
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends, '', algo(', offset: 2')), {}, dir)
  const seen = new Set<string>()
  for (let i = 0; i < 4; i++) seen.add((await send(gw.url + '/')).text)
  t.same([...seen], ['b3'], 'every request went to the backend at offset 2')
})

t.test('module errors are config errors that name the pool and the module', async (t) => {
  const dir = t.testdir({
    'fixed.mjs': FIXED('v1'),
    'broken.mjs': 'export default {{ nope',
    'empty.mjs': 'export const x = 1',
    'throws.mjs': "import { Type } from '@sinclair/typebox'\nexport default { options: Type.Object({}), create () { throw new Error('no backends for me') } }"
  })
  const load = async (algorithm: string): Promise<unknown> => {
    const config = loadConfigText(poolYaml([{ url: 'http://127.0.0.1:9' }], '', `    algorithm: ${algorithm}\n`), { env: {}, baseDir: dir })
    return await loadAlgorithmModules(config, 'test.yaml')
  }
  await t.rejects(load('{ module: ./broken.mjs }'), /pools\.web\.algorithm\.module: cannot load algorithm module .*broken\.mjs/)
  await t.rejects(load('{ module: ./missing.mjs }'), /pools\.web\.algorithm\.module: cannot load algorithm module .*missing\.mjs/)
  await t.rejects(load('{ module: ./empty.mjs }'), /does not export an algorithm/)
  await t.rejects(load('{ module: ./throws.mjs }'), /create\(\) failed: no backends for me/)
  await t.rejects(load('{ module: ./fixed.mjs, offset: -1 }'), /pools\.web\.algorithm\.offset: expected/)
  await t.rejects(load('{ module: ./fixed.mjs, colour: red }'), /pools\.web\.algorithm\.colour: unknown key/)
  t.throws(() => loadConfigText(poolYaml([{ url: 'http://127.0.0.1:9' }], '', '    algorithm: { module: 7 }\n'), { env: {} }), /pools\.web\.algorithm\.module/)
})

t.test('loading again (a reload) picks up a changed module file', async (t) => {
  const dir = t.testdir({ 'fixed.mjs': FIXED('v1') })
  const config = (): ReturnType<typeof loadConfigText> =>
    loadConfigText(poolYaml([{ url: 'http://127.0.0.1:9' }], '', algo()), { env: {}, baseDir: dir })
  const first = config()
  let loaded = await loadAlgorithmModules(first)
  const path = first.pools.web!.algorithm.module!
  const label = (): unknown => (loaded.get(path)!.create({ offset: 0 }, { random: Math.random, now: () => 0 }) as unknown as { label: string }).label
  t.equal(label(), 'v1')
  writeFileSync(join(dir, 'fixed.mjs'), FIXED('v2'))
  loaded = await loadAlgorithmModules(config())
  t.equal(label(), 'v2')
})
