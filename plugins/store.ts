import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Gauge } from 'prom-client'
import { ConfigState } from '../lib/store/config-state.js'
import { MemoryStateStore } from '../lib/store/state-memory.js'
import type { OpenedStore } from '../lib/store/open.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The config's revisions and every change to it (lib/store/config-state.ts). */
    readonly configStore: ConfigState
  }
}

export interface StorePluginOptions {
  /** What server.ts opened at start (lib/store/open.ts); absent: a store in memory, seeded from the config built from. */
  opened?: OpenedStore
}

/**
 * The config store (docs/config-store.md): decorates `configStore`, through which the admin
 * API and the file reloads change the config, and exports `gateway_config_revision` and
 * `gateway_config_store_connected`. Only the process that runs the admin API has one: worker
 * processes get their changes from the primary.
 */
async function storePlugin (app: FastifyInstance, opts: StorePluginOptions): Promise<void> {
  const config = app.gatewayConfig
  const opened = opts.opened
  const state = new ConfigState({
    store: opened?.store ?? new MemoryStateStore(),
    state: opened?.state ?? { format: 1, revision: 1, base: undefined, baseSource: 'file', fileSha256: '', overrides: {}, history: [] },
    base: opened?.base ?? config,
    instance: config.store.instance,
    historySize: config.store.history,
    logger: app.log,
    prepare: async (next) => await app.reload.prepare(next),
    adopt: (c) => { app.adoptConfig(c) }
  })
  app.decorate('configStore', state)
  const registers = [app.gatewayMetrics.prometheus.registry]
  // eslint-disable-next-line no-new
  new Gauge({ name: 'gateway_config_revision', help: 'The config revision this gateway has applied.', registers, collect () { this.set(state.revision) } })
  // eslint-disable-next-line no-new
  new Gauge({ name: 'gateway_config_store_connected', help: 'Whether the config store can be written (1) or not (0): admin changes are refused while it is 0.', registers, collect () { this.set(state.connected ? 1 : 0) } })
}

export default fp(storePlugin, { name: 'gateway-store', dependencies: ['gateway-config', 'gateway-reload', 'gateway-metrics'], fastify: '5.x' })
