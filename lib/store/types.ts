import type { FastifyBaseLogger } from 'fastify'

/**
 * What the config store keeps (docs/config-store.md): the config document the gateway was last
 * given (the YAML file or PUT /admin/config, as parsed: `${VAR}` placeholders stay unresolved,
 * so secrets from the environment are not written down), the admin API's backend changes on
 * top of it, a revision that every change moves on by one, and the latest changes.
 */

/** An admin API change to one backend that the config document does not say. */
export interface BackendOverride {
  weight?: number
  enabled?: boolean
  drain?: boolean
}

/** A backend added through the admin API (not in the config document). */
export interface AddedBackend { id: string, url: string, weight: number }

/** The admin API's changes to one pool, applied in this order: remove, add, set. */
export interface PoolOverrides {
  /** Ids of the document's backends removed through the API. */
  remove: string[]
  add: AddedBackend[]
  /** Per backend id (the document's or an added one). */
  set: Record<string, BackendOverride>
}

/** By pool name. */
export type Overrides = Record<string, PoolOverrides>

/** Where the document came from: the config file, or PUT /admin/config. */
export type BaseSource = 'file' | 'api'

export interface HistoryEntry {
  revision: number
  /** ISO 8601. */
  time: string
  /** What changed, in words ("added backend web/10.0.0.7:80"). */
  change: string
  /** Which gateway made it (its instance id: host name and pid by default). */
  instance: string
  /** What made it: the admin API, a signal (SIGHUP), or the start (seed, file changed). */
  via: 'admin' | 'signal' | 'start'
  /** The admin token's name; null while tokens have no names (one admin.token). */
  token: string | null
}

export interface StoredState {
  format: 1
  revision: number
  base: unknown
  baseSource: BaseSource
  /**
   * SHA-256 of the config file's text when the gateway last read it: a different file at start
   * means the operator edited it meanwhile, which is then applied (lib/store/open.ts).
   */
  fileSha256: string
  overrides: Overrides
  /** Newest last, at most store.history entries. */
  history: HistoryEntry[]
}

/** Where a config store keeps StoredState: a file (the default), memory, or etcd (fleets). */
export interface StateStore {
  /** Where it is, for messages ("file /etc/gw/gateway-state.json"). */
  readonly where: string
  /**
   * The state last written, or undefined when there is none yet. A copy that cannot be read
   * (truncated, corrupt) is reported in `problems` and the next good copy is used, if any.
   */
  load: () => Promise<{ state: StoredState | undefined, from: string, problems: string[] }>
  /**
   * Writes `state` so that a crash at any point leaves the previous or the new one. Throws on
   * failure; a shared store throws StoreConflict when another writer moved it on first.
   */
  save: (state: StoredState) => Promise<void>
  /** Whether the store can be written: the last save worked (file), or etcd answers (etcd). */
  readonly connected: boolean
  /** Shared stores only: starts following changes written by other gateways (`remote` gets each). */
  follow?: (remote: (state: StoredState) => void, log: FastifyBaseLogger) => void
  /** Shared stores only: the newest revision seen in the store (gateway_config_store_behind). */
  readonly latest?: number
  /** Shared stores only: `state` is now in force here (kept as the local last-known-good copy). */
  applied?: (state: StoredState) => void
  close?: () => Promise<void>
}

/** A shared store was moved on by another writer: `current` is what it holds now. */
export class StoreConflict extends Error {
  constructor (readonly current: StoredState) {
    super(`the store moved on to revision ${current.revision}`)
    this.name = 'StoreConflict'
  }
}
