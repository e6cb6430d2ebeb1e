import t from 'tap'
import pino from 'pino'
import { ReloadCoordinator } from '../lib/reload/coordinator.js'
import type { PreparedChange, ReloadContext, ReloadParticipant } from '../lib/reload/participant.js'
import type { GatewayConfig } from '../lib/config/types.js'
import type { LoadedModules } from '../lib/config/modules.js'
import { buildApp } from '../app.js'
import { loadConfigText } from '../lib/config/load.js'
import { createLogger } from '../lib/logger.js'

/**
 * The reload protocol itself (docs/reload.md), with recording participants: prepare all in
 * order, abort the prepared ones last first when one refuses, commit all in one synchronous
 * step, clean up afterwards, one reload at a time.
 */

const NEXT = {} as GatewayConfig
const noModules = async (): Promise<LoadedModules> => ({ algorithms: new Map(), plugins: new Map() })

function coordinator (): ReloadCoordinator {
  return new ReloadCoordinator({ logger: pino({ level: 'silent' }), loadModules: noModules })
}

/** A participant that records every step in `log`; `refuse` makes its prepare throw. */
function recorder (name: string, log: string[], opts: { refuse?: boolean, restart?: string, commit?: () => void } = {}): ReloadParticipant {
  return {
    name,
    prepare: async (_next, ctx) => {
      log.push(`prepare ${name}`)
      await new Promise((resolve) => setImmediate(resolve))
      if (opts.restart !== undefined) ctx.needsRestart(opts.restart)
      if (opts.refuse === true) throw new Error(`${name} refuses`)
      const change: PreparedChange = {
        commit: () => { log.push(`commit ${name}`); opts.commit?.() },
        abort: async () => { log.push(`abort ${name}`) },
        afterCommit: async () => { log.push(`after ${name}`) }
      }
      return change
    }
  }
}

t.test('prepares in registration order, commits all, then cleans up; reports restart sections', async (t) => {
  const log: string[] = []
  const c = coordinator()
  c.register(recorder('a', log, { restart: 'shutdown' }))
  c.register({ name: 'nothing', prepare: () => { log.push('prepare nothing'); return undefined } })
  c.register(recorder('b', log, { restart: 'admin' }))
  t.same(c.order, ['a', 'nothing', 'b'])
  t.same(await c.apply(NEXT), { needsRestart: ['shutdown', 'admin'] })
  t.same(log, ['prepare a', 'prepare nothing', 'prepare b', 'commit a', 'commit b', 'after a', 'after b'])
  t.throws(() => { c.register(recorder('a', log)) }, /already registered/)
})

t.test('a refused prepare aborts the prepared participants, last first, and changes nothing', async (t) => {
  const log: string[] = []
  const c = coordinator()
  c.register(recorder('a', log))
  c.register(recorder('b', log))
  c.register(recorder('c', log, { refuse: true }))
  c.register(recorder('d', log))
  await t.rejects(c.apply(NEXT), /c refuses/)
  t.same(log, ['prepare a', 'prepare b', 'prepare c', 'abort b', 'abort a'], 'd never prepared, nothing committed')
})

t.test('commits run in one synchronous step: nothing else runs between two commits', async (t) => {
  const log: string[] = []
  const c = coordinator()
  c.register(recorder('a', log, { commit: () => { queueMicrotask(() => log.push('microtask')); setImmediate(() => log.push('immediate')) } }))
  c.register(recorder('b', log))
  c.register(recorder('c', log))
  await c.apply(NEXT)
  t.same(log.slice(3, 6), ['commit a', 'commit b', 'commit c'], 'the work queued by the first commit ran after the last')
})

t.test('a commit that throws (a bug) does not stop the others; the reload reports it', async (t) => {
  const log: string[] = []
  const c = coordinator()
  c.register(recorder('a', log, { commit: () => { throw new Error('broken commit') } }))
  c.register(recorder('b', log))
  await t.rejects(c.apply(NEXT), /commit of a threw/)
  t.same(log.slice(2), ['commit a', 'commit b', 'after a', 'after b'])
})

t.test('one reload at a time: the next prepares only once the previous is settled', async (t) => {
  const log: string[] = []
  const c = coordinator()
  let n = 0
  c.register({
    name: 'slow',
    prepare: async () => {
      const i = ++n
      log.push(`prepare ${i}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
      return { commit: () => { log.push(`commit ${i}`) }, abort: () => {}, afterCommit: async () => { await new Promise((resolve) => setTimeout(resolve, 20)); log.push(`after ${i}`) } }
    }
  })
  await Promise.all([c.apply(NEXT), c.apply(NEXT)])
  t.same(log, ['prepare 1', 'commit 1', 'after 1', 'prepare 2', 'commit 2', 'after 2'])

  // Two steps, as a supervisor of several processes would drive it: a prepared reload holds the turn.
  log.length = 0
  const prepared = await c.prepare(NEXT)
  const queued = c.apply(NEXT)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(log, ['prepare 3'], 'the queued reload waits while one is prepared')
  await prepared.abort()
  await queued
  t.same(log, ['prepare 3', 'prepare 4', 'commit 4', 'after 4'])
  await t.rejects(prepared.commit(), /already committed or aborted/)
  // A refused reload gives up its turn too.
  c.register({ name: 'refuser', prepare: () => { throw new Error('no') } })
  await t.rejects(c.apply(NEXT), /no/)
  await t.rejects(c.apply(NEXT), /no/)
})

t.test('a participant asking for a product nobody provided refuses the reload', async (t) => {
  const log: string[] = []
  const c = coordinator()
  c.register(recorder('a', log))
  c.register({ name: 'needy', prepare: (_next, ctx: ReloadContext) => { ctx.get('pools'); return undefined } })
  await t.rejects(c.apply(NEXT), /nothing provided "pools"/)
  t.same(log, ['prepare a', 'abort a'])
})

t.test('the gateway\'s participants, in plugin-dependency order', async (t) => {
  const config = loadConfigText('pools:\n  web:\n    backends: [ { url: "http://127.0.0.1:9" } ]\n', { env: {} })
  const app = await buildApp(config, { logger: createLogger({ level: 'warn' }, { write: () => {} }) })
  t.teardown(() => app.close())
  t.same(app.reload.order, ['config', 'log', 'pools', 'health', 'metrics', 'proxy', 'connections', 'traffic', 'listen', 'dashboard', 'admin'])
})
