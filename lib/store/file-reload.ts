import { loadConfigText, parseConfigText, readConfigFile } from '../config/load.js'
import type { BaseChangeResult, ConfigState } from './config-state.js'
import { sha256 } from './state-file.js'
import type { HistoryEntry } from './types.js'

export interface FileChange {
  /** true: the admin API's changes are dropped (POST /admin/config/reset); false: kept on top. */
  reset: boolean
  via: HistoryEntry['via']
  expected?: number
}

/**
 * Re-reads the config file and makes it the config's document, as a new revision: a reload
 * (SIGHUP, POST /admin/config/reload) keeps the admin API's changes on top, a reset drops them.
 * An unreadable or invalid file is a ConfigError and changes nothing.
 */
export async function applyConfigFile (store: ConfigState, path: string, env: NodeJS.ProcessEnv, how: FileChange): Promise<BaseChangeResult> {
  const { text, baseDir } = readConfigFile(path)
  // Loaded here first for its issues with line numbers; the store loads the document again itself.
  loadConfigText(text, { env, baseDir, source: path })
  return await store.baseChange(
    { change: how.reset ? `reset to the config file ${path}: admin API changes dropped` : `reloaded the config file ${path}`, via: how.via, expected: how.expected },
    { raw: parseConfigText(text, path), source: 'file', fileSha256: sha256(text), keepOverrides: !how.reset, local: 'replace' })
}
