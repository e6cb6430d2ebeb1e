import type { GatewayConfig } from '../config/types.js'
import { loadConfigValue } from '../config/load.js'
import { isObj } from '../config/fields.js'

/**
 * Which part of a config document the store keeps, and how a stored document becomes this
 * gateway's config (docs/config-store.md, "What a fleet shares").
 *
 * - The file store keeps the whole document: one gateway, one config.
 * - A fleet (etcd) shares what the gateways balance (pools, routes, plugins, websocket) and
 *   leaves with each gateway what belongs to its host: the sections in LOCAL_SECTIONS, read
 *   from its own config file. So three instances on one machine can share pools while each
 *   listens on its own ports.
 */
export interface Documents {
  /** `raw` (a whole document, as parsed) cut into what is stored and what stays here. */
  split: (raw: unknown) => { shared: unknown, local: unknown }
  /** The config from a stored document and this gateway's local part (ConfigError when invalid). */
  load: (shared: unknown, local: unknown) => GatewayConfig
}

/** The sections each gateway of a fleet keeps to itself (its addresses, its process, its logs, its store). */
export const LOCAL_SECTIONS: readonly string[] = Object.freeze(['listen', 'admin', 'tcp', 'log', 'metrics', 'shutdown', 'workers', 'store'])

export interface DocumentLoad { env: NodeJS.ProcessEnv, baseDir: string, source: string }

export function wholeDocuments (opts: DocumentLoad): Documents {
  return {
    split: (raw) => ({ shared: raw, local: undefined }),
    load: (shared) => loadConfigValue(shared, opts)
  }
}

export function fleetDocuments (opts: DocumentLoad): Documents {
  return {
    split: (raw) => {
      const shared: Record<string, unknown> = {}
      const local: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(isObj(raw) ? raw : {})) (LOCAL_SECTIONS.includes(k) ? local : shared)[k] = v
      return { shared, local }
    },
    load: (shared, local) => {
      const s = isObj(shared) ? Object.fromEntries(Object.entries(shared).filter(([k]) => !LOCAL_SECTIONS.includes(k))) : {}
      return loadConfigValue({ ...(isObj(local) ? local : {}), ...s }, opts)
    }
  }
}
