import type { Dispatcher } from 'undici'
import type { BackendConfig } from './config/types.js'
import type { SelectableBackend } from '../algorithms/types.js'

/**
 * One backend of one pool: its fixed identity (from config) and its live state.
 *
 * Ownership: only BackendPool mutates the state fields (healthy, enabled, draining, inFlight and
 * the counters). Everything else reads them. `ready` is the single rule that decides whether a
 * backend may take a new request.
 */
export class Backend implements SelectableBackend {
  readonly id: string
  readonly url: string
  readonly weight: number
  /** Path prefix of the backend url ("" when none), prepended to every forwarded path. */
  readonly basePath: string
  /** host[:port] as written in the url, sent as Host when the pool uses hostHeader: backend. */
  readonly authority: string
  readonly dispatcher: Dispatcher

  healthy = true
  enabled = true
  draining = false
  inFlight = 0
  requests = 0
  errors = 0

  constructor (config: BackendConfig, dispatcher: Dispatcher) {
    const url = new URL(config.url)
    this.id = config.id
    this.url = config.url
    this.weight = config.weight
    this.basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
    this.authority = url.host
    this.dispatcher = dispatcher
  }

  get ready (): boolean {
    return this.healthy && this.enabled && !this.draining
  }
}
