import { rename } from 'node:fs/promises'
import type { GatewayConfig } from '../config/types.js'
import { ConfigError, loadConfigText, loadConfigValue, parseConfigText, readConfigFile } from '../config/load.js'
import { fsReason } from '../config/fields.js'
import { applyOverrides, countOverrides } from './overrides.js'
import { FileStateStore, sha256 } from './state-file.js'
import type { HistoryEntry, StateStore, StoredState } from './types.js'
import { wholeDocuments, type Documents } from './documents.js'
import type { EtcdClient } from './etcd-client.js'
import { openEtcdStore } from './open-etcd.js'

/** What the start decided: the state in force (saved, unless the store could not be written), and why. */
export interface OpenedStore {
  store: StateStore
  state: StoredState
  /** `state.base` loaded. */
  base: GatewayConfig
  /** What the gateway serves: the base with the overrides applied. */
  config: GatewayConfig
  /** How documents split and load (the file store: whole; etcd: shared and local sections). */
  documents: Documents
  /** This gateway's local sections (etcd), or undefined. */
  local: unknown
  /** A fleet store: its client and where the fleet's keys are (membership, GET /admin/cluster). */
  fleet?: { client: EtcdClient, prefix: string, leaseTtl: number, instance: string }
  /** For the log, in order: what was resumed, seeded or fell back, and anything dropped. */
  notes: Array<{ level: 'info' | 'warn' | 'error', msg: string, [k: string]: unknown }>
}

/**
 * Opens the config store named by the config file and decides what the gateway starts with
 * (docs/config-store.md, "At start"):
 * - no state yet: the file seeds it (revision 1);
 * - a state, and the file unchanged since it was last read: the state is resumed, document and
 *   admin API changes alike;
 * - a state, and the file edited meanwhile: the file is applied as a new revision, with the
 *   admin API's changes on top where they still apply (the rest is dropped and logged);
 * - a damaged state file: the previous copy, or else the file; the damaged file is kept beside
 *   it (`.damaged-<time>`) and the log says which was used.
 * An invalid config file is a ConfigError, as without a store.
 */
export async function openStore (configPath: string, env: NodeJS.ProcessEnv): Promise<OpenedStore> {
  const { text, baseDir } = readConfigFile(configPath)
  const opts = { env, baseDir, source: configPath }
  const fileConfig = loadConfigText(text, opts)
  const raw = parseConfigText(text, configPath)
  const fileSha256 = sha256(text)
  const cfg = fileConfig.store
  if (cfg.etcd !== undefined) return await openEtcdStore({ cfg: cfg.etcd, raw, fileSha256, load: opts, instance: cfg.instance, history: cfg.history })
  const store = new FileStateStore(cfg.file.path)
  const notes: OpenedStore['notes'] = []
  const entry = (revision: number, change: string): HistoryEntry => ({ revision, time: new Date().toISOString(), change, instance: cfg.instance, via: 'start', token: null })

  const loaded = await store.load()
  for (const problem of loaded.problems) notes.push({ level: 'error', msg: `config store: ${problem}` })
  await keepDamaged([cfg.file.path, `${cfg.file.path}.prev`].filter((f) => loaded.problems.some((p) => p.startsWith(`${f}:`))))
  let state = loaded.state
  let base: GatewayConfig | undefined
  let changed = false

  if (state === undefined) {
    const why = loaded.problems.length > 0 ? 'started from the config file: no readable state file' : 'seeded from the config file'
    state = { format: 1, revision: 1, base: raw, baseSource: 'file', fileSha256, overrides: {}, history: [entry(1, why)] }
    base = fileConfig
    changed = true
    notes.push({ level: loaded.problems.length > 0 ? 'error' : 'info', msg: `config store: ${why}`, store: store.where })
  } else {
    if (loaded.from !== cfg.file.path) {
      notes.push({ level: 'warn', msg: `config store: resumed from the previous copy ${loaded.from} (revision ${state.revision})` })
      changed = true // written back as the main file
    }
    if (state.fileSha256 !== fileSha256) {
      const change = `the config file changed since the last run: applied, with ${countOverrides(state.overrides)} admin API change(s) on top`
      state = { ...state, revision: state.revision + 1, base: raw, baseSource: 'file', fileSha256, history: [...state.history, entry(state.revision + 1, change)].slice(-cfg.history) }
      base = fileConfig
      changed = true
      notes.push({ level: 'info', msg: `config store: ${change}`, revision: state.revision })
    } else {
      try {
        base = loadConfigValue(state.base, opts)
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        const change = 'the stored config no longer loads (an environment variable or a file it names changed): the config file is applied instead'
        notes.push({ level: 'error', msg: `config store: ${change}`, issues: err.issues })
        state = { ...state, revision: state.revision + 1, base: raw, baseSource: 'file', fileSha256, history: [...state.history, entry(state.revision + 1, change)].slice(-cfg.history) }
        base = fileConfig
        changed = true
      }
      if (!changed) notes.push({ level: 'info', msg: `config store: resumed revision ${state.revision} (${countOverrides(state.overrides)} admin API change(s) on top of the ${state.baseSource === 'file' ? 'config file' : 'config put through the admin API'})`, store: store.where })
    }
  }

  const applied = applyOverrides(base, state.overrides)
  if (applied.dropped.length > 0) {
    notes.push({ level: 'warn', msg: 'config store: admin API changes that no longer apply to the config were dropped', dropped: applied.dropped })
    state = { ...state, overrides: applied.kept }
    changed = true
  }
  if (changed) {
    try {
      await store.save(state)
    } catch (err) {
      notes.push({ level: 'error', msg: `config store: cannot write ${cfg.file.path} (${fsReason(err)}): the gateway serves this config, but admin changes are refused until it can be written; set store.file.path to a writable place` })
    }
  }
  return { store, state, base, config: applied.config, notes, documents: wholeDocuments(opts), local: undefined }
}

/**
 * Moves damaged state files aside (`.damaged-<time>`), so nothing is deleted, and out of the
 * way: a damaged main file left in place would be moved over a good `.prev` by the next save.
 */
async function keepDamaged (files: string[]): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  for (const f of files) await rename(f, `${f}.damaged-${stamp}`).catch(() => {})
}
