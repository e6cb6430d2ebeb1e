import type { Dispatcher } from 'undici'
import type { BackendConfig } from './config/types.js'
import type { SelectableBackend } from '../algorithms/types.js'

/** Share of its weight a backend starts slow start with. */
export const SLOW_START_MIN_SHARE = 0.1

/**
 * One backend of one pool: its fixed identity (from config) and its live state.
 *
 * Ownership: only BackendPool mutates the state fields (healthy, enabled, draining, inFlight,
 * the counters and the slow-start ramp). Everything else reads them. `ready` is the single rule
 * that decides whether a backend may take a new request.
 */
export class Backend implements SelectableBackend {
  readonly id: string
  readonly url: string
  /** Weight from the config (or the admin API); `weight` is what algorithms see. */
  configWeight: number
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
  /** Slow start: when the ramp ends (clock ms), 0 when not ramping; and its length. */
  rampEnd = 0
  rampMs = 0

  constructor (config: BackendConfig, dispatcher: Dispatcher, private readonly now: () => number) {
    const url = new URL(config.url)
    this.id = config.id
    this.url = config.url
    this.configWeight = config.weight
    this.basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
    this.authority = url.host
    this.dispatcher = dispatcher
  }

  get ready (): boolean {
    return this.healthy && this.enabled && !this.draining
  }

  /**
   * The weight algorithms see: the configured weight, or during slow start a share of it that
   * grows linearly from SLOW_START_MIN_SHARE to 1 over the ramp.
   */
  get weight (): number {
    if (this.rampEnd === 0) return this.configWeight
    const left = this.rampEnd - this.now()
    if (left <= 0) {
      this.rampEnd = 0
      return this.configWeight
    }
    return this.configWeight * Math.max(SLOW_START_MIN_SHARE, 1 - left / this.rampMs)
  }
}
