import { readFileSync } from 'node:fs'
import type { GatewayConfig } from '../config/types.js'
import type { EtcdStoreConfig } from '../config/sections/store.js'
import { ConfigError } from '../config/load.js'
import { fsReason } from '../config/fields.js'
import { fleetDocuments, type DocumentLoad } from './documents.js'
import { EtcdClient, EtcdUnavailable } from './etcd-client.js'
import { applyOverrides } from './overrides.js'
import { EtcdStateStore } from './state-etcd.js'
import { FileStateStore } from './state-file.js'
import { StoreConflict, type HistoryEntry, type StoredState } from './types.js'
import type { OpenedStore } from './open.js'

export interface EtcdOpen {
  cfg: EtcdStoreConfig
  /** The config file as parsed: its shared sections seed an empty store, its local ones stay here. */
  raw: unknown
  fileSha256: string
  load: DocumentLoad
  instance: string
  history: number
}

/** The etcd client for `cfg`, with its TLS files read (a ConfigError names the unreadable one). */
export function etcdClientFor (cfg: EtcdStoreConfig): EtcdClient {
  const read = (key: 'caFile' | 'certFile' | 'keyFile'): string | undefined => {
    const file = cfg.tls?.[key]
    if (file === undefined) return undefined
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new ConfigError([{ path: `store.etcd.tls.${key}`, message: `cannot read ${file}: ${fsReason(err)}` }])
    }
  }
  const tls = cfg.tls === undefined ? undefined : { ca: read('caFile'), cert: read('certFile'), key: read('keyFile') }
  return new EtcdClient({ endpoints: cfg.endpoints, timeoutMs: cfg.dialTimeout, username: cfg.username, password: cfg.password, tls })
}

/**
 * Opens the fleet store at start (docs/config-store.md, "etcd: at start"):
 * - etcd holds a state: it is followed (the config file's shared sections are not pushed: a
 *   gateway restarting with an old file must not undo the fleet's changes);
 * - etcd is empty: the file's shared sections seed it, as revision 1 (when two gateways seed at
 *   once, the transaction lets one win and the other follows it);
 * - etcd is unreachable: the local snapshot (the last state this gateway applied) is served and
 *   etcd is followed once it answers; with no snapshot the start is refused, saying why.
 */
export async function openEtcdStore (o: EtcdOpen): Promise<OpenedStore> {
  const documents = fleetDocuments(o.load)
  const { shared, local } = documents.split(o.raw)
  const client = etcdClientFor(o.cfg)
  const snapshot = new FileStateStore(o.cfg.snapshot)
  const store = new EtcdStateStore(client, o.cfg.prefix, snapshot, o.cfg.endpoints)
  const notes: OpenedStore['notes'] = []
  const entry = (change: string): HistoryEntry => ({ revision: 1, time: new Date().toISOString(), change, instance: o.instance, via: 'start', token: null })

  let state: StoredState | undefined
  try {
    const loaded = await store.load()
    for (const problem of loaded.problems) notes.push({ level: 'error', msg: `config store: ${problem}` })
    state = loaded.state
    if (state === undefined && loaded.problems.length === 0) {
      const seed: StoredState = { format: 1, revision: 1, base: shared, baseSource: 'file', fileSha256: o.fileSha256, overrides: {}, history: [entry('seeded the fleet store from the config file')] }
      try {
        await store.save(seed)
        state = seed
        notes.push({ level: 'info', msg: 'config store: etcd was empty: seeded it from the config file (revision 1)', store: store.where })
      } catch (err) {
        if (!(err instanceof StoreConflict)) throw err
        state = err.current
        notes.push({ level: 'info', msg: `config store: another gateway seeded etcd first: following revision ${state.revision}`, store: store.where })
      }
    } else if (state !== undefined) {
      notes.push({ level: 'info', msg: `config store: following the fleet config in etcd, revision ${state.revision}`, store: store.where })
    }
  } catch (err) {
    if (!(err instanceof EtcdUnavailable)) throw err
    notes.push({ level: 'error', msg: `config store: ${err.message}` })
  }
  if (state === undefined) {
    const snap = await snapshot.load()
    if (snap.state === undefined) {
      await client.close()
      throw new Error(`etcd (${o.cfg.endpoints.join(', ')}) did not give a config and there is no local snapshot to start from (${o.cfg.snapshot}${snap.problems.length > 0 ? `: ${snap.problems.join('; ')}` : ''}). Start once with etcd reachable, or push a config into it (docs/config-store.md)`)
    }
    state = snap.state
    notes.push({ level: 'warn', msg: `config store: started from the local snapshot ${snap.from} (revision ${state.revision}); following etcd once it answers` })
  }

  let base: GatewayConfig
  try {
    base = documents.load(state.base, local)
  } catch (err) {
    await client.close()
    if (err instanceof ConfigError) throw new ConfigError(err.issues, `the fleet config (revision ${state.revision}) with this gateway's local sections`)
    throw err
  }
  const applied = applyOverrides(base, state.overrides)
  if (applied.dropped.length > 0) notes.push({ level: 'warn', msg: 'config store: admin API changes in the fleet config that do not apply here were left out', dropped: applied.dropped })
  store.applied(state)
  return { store, state, base, config: applied.config, notes, documents, local, fleet: { client, prefix: o.cfg.prefix, leaseTtl: o.cfg.leaseTtl, instance: o.instance } }
}
