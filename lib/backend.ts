import { isIP } from 'node:net'
import type { Dispatcher } from 'undici'
import type { BackendConfig } from './config/types.js'
import type { SelectableBackend } from '../algorithms/types.js'
import type { CircuitBreaker } from './resilience/breaker.js'

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
  /** Where to connect (WebSocket and TCP proxying): host without IPv6 brackets, and port. */
  readonly hostname: string
  readonly port: number
  /**
   * The TLS server name for an https:// backend named by host name (undefined for an IP literal
   * or plain http). Passed with every dispatch: undici otherwise takes it from the request's Host
   * header, which is the client's (hostHeader: preserve), so the backend's certificate would be
   * checked against the client's name and a change of Host would reconnect.
   */
  readonly servername: string | undefined
  readonly dispatcher: Dispatcher

  /** Active health checks say so (true when there are none). */
  healthy = true
  /** Passive outlier detection took it out for a while. */
  ejected = false
  enabled = true
  draining = false
  /** Per-backend circuit breaker; undefined when the pool has none. */
  breaker: CircuitBreaker | undefined
  /** Requests it may hold at once (maxConnections + maxPendingRequests); 0: no limit. */
  maxInFlight = 0
  /** Requests in flight plus open WebSocket and TCP connections: what least-connections counts. */
  inFlight = 0
  /** Open proxied WebSocket connections (also counted in inFlight). */
  websockets = 0
  /** Open layer-4 connections (also counted in inFlight). */
  tcpConnections = 0
  /**
   * Resolvers waiting for a draining backend to have nothing in flight. Kept on the backend, not
   * the pool, because a request or connection that began before a reload is released through
   * the pool it was acquired from.
   */
  drainWaiters: Array<() => void> | undefined
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
    this.enabled = config.enabled
    this.draining = config.drain
    this.basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
    this.authority = url.host
    this.hostname = url.hostname.replace(/^\[|\]$/g, '')
    this.port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
    this.servername = url.protocol === 'https:' && isIP(this.hostname) === 0 ? this.hostname : undefined
    this.dispatcher = dispatcher
  }

  /**
   * May take a new request: healthy, not ejected, enabled, not draining, its circuit lets a
   * request through, and it is under its request limit.
   */
  get ready (): boolean {
    return this.healthy && !this.ejected && this.enabled && !this.draining &&
      (this.breaker === undefined || this.breaker.allows()) &&
      (this.maxInFlight === 0 || this.inFlight < this.maxInFlight)
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
