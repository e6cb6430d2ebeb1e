import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Gauge } from 'prom-client'
import { ConfigState } from '../lib/store/config-state.js'
import { MemoryStateStore } from '../lib/store/state-memory.js'
import { wholeDocuments } from '../lib/store/documents.js'
import { listMembers, Membership, type MemberInfo } from '../lib/store/etcd-members.js'
import type { EtcdStateStore } from '../lib/store/state-etcd.js'
import type { OpenedStore } from '../lib/store/open.js'
import type { SharedHealth } from '../lib/store/shared-health.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The config's revisions and every change to it (lib/store/config-state.ts). */
    readonly configStore: ConfigState
    /** Set with a fleet store (etcd): this gateway's registration and the fleet's members. */
    readonly fleet: Fleet | undefined
  }
}

export interface Fleet {
  /** The live members, this one included (GET /admin/cluster). */
  members: () => Promise<MemberInfo[]>
  /** Says where this gateway listens once it does (the registration carries the bound ports). */
  listening: (where: { address: string, admin: string }) => void
  readonly instance: string
}

export interface StorePluginOptions {
  /** What server.ts opened at start (lib/store/open.ts); absent: a store in memory, seeded from the config built from. */
  opened?: OpenedStore
  /** This gateway's version, for the fleet registration. */
  version?: string
  /** Shared health checks (app.ts makes it with a fleet store): followed from the start, closed with the store. */
  sharedHealth?: SharedHealth
}

/**
 * The config store (docs/config-store.md): decorates `configStore`, through which the admin
 * API and the file reloads change the config, and exports `gateway_config_revision`,
 * `gateway_config_store_connected` and `gateway_config_store_behind`. With a fleet store
 * (etcd) it also follows the changes other gateways make and registers this one under a lease
 * (`fleet`). Only the process that runs the admin API has one: worker processes get their
 * changes from the primary.
 */
async function storePlugin (app: FastifyInstance, opts: StorePluginOptions): Promise<void> {
  const config = app.gatewayConfig
  const opened = opts.opened
  const f = opened?.fleet
  const info: MemberInfo = {
    id: config.store.instance,
    address: `${config.listen[0].host}:${config.listen[0].port}`,
    admin: `${config.admin.host}:${config.admin.port}`,
    version: opts.version ?? '',
    revision: opened?.state.revision ?? 1,
    startedAt: new Date().toISOString(),
    pid: process.pid
  }
  let membership: Membership | undefined
  const state = new ConfigState({
    store: opened?.store ?? new MemoryStateStore(),
    state: opened?.state ?? { format: 1, revision: 1, base: undefined, baseSource: 'file', fileSha256: '', overrides: {}, history: [] },
    base: opened?.base ?? config,
    documents: opened?.documents ?? wholeDocuments({ env: process.env, baseDir: process.cwd(), source: 'config' }),
    local: opened?.local,
    instance: config.store.instance,
    historySize: config.store.history,
    logger: app.log,
    prepare: async (next) => await app.reload.prepare(next),
    adopt: (c) => { app.adoptConfig(c) },
    onApplied: (revision) => { membership?.applied(revision) }
  })
  app.decorate('configStore', state)
  let fleet: Fleet | undefined
  if (f !== undefined && opened !== undefined) {
    const store = opened.store as EtcdStateStore
    const m = new Membership(f.client, f.prefix, info, Math.round(f.leaseTtl / 1000), app.log, (ok) => { store.contact(ok); if (!ok) opts.sharedHealth?.lost() })
    membership = m
    fleet = {
      members: async () => await listMembers(f.client, f.prefix),
      listening: (where: { address: string, admin: string }) => { m.listening(where) },
      instance: info.id
    }
    // Follow the fleet and register once the gateway is built, so a change arriving now finds every reload participant.
    app.addHook('onReady', async () => {
      store.follow((s) => { void state.remoteChange(s) }, app.log)
      opts.sharedHealth?.follow()
      m.start()
    })
    app.addHook('onClose', async () => {
      opts.sharedHealth?.close()
      await m.close()
      await store.close()
      await f.client.close()
    })
  }
  app.decorate('fleet', fleet)

  const registers = [app.gatewayMetrics.prometheus.registry]
  // eslint-disable-next-line no-new
  new Gauge({ name: 'gateway_config_revision', help: 'The config revision this gateway has applied.', registers, collect () { this.set(state.revision) } })
  // eslint-disable-next-line no-new
  new Gauge({ name: 'gateway_config_store_connected', help: 'Whether the config store can be written (1) or not (0): admin changes are refused while it is 0.', registers, collect () { this.set(state.connected ? 1 : 0) } })
  // eslint-disable-next-line no-new
  new Gauge({ name: 'gateway_config_store_behind', help: 'Revisions the fleet store holds that this gateway has not applied (0: in step; always 0 with the file store).', registers, collect () { this.set(state.behind) } })
}

export default fp(storePlugin, { name: 'gateway-store', dependencies: ['gateway-config', 'gateway-reload', 'gateway-metrics'], fastify: '5.x' })
