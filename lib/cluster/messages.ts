/**
 * What the primary and its workers say to each other over node:cluster's IPC channel
 * (docs/workers.md). Only control traffic: config, backend state, reload steps, counters for
 * the admin API. Nothing here is sent per request.
 */
import type { GatewayConfig } from '../config/types.js'
import type { MetricsJson } from './metrics.js'

/** The part of a backend's state the primary decides for every worker. */
export interface SharedBackendState {
  id: string
  url: string
  weight: number
  healthy: boolean
  enabled: boolean
  draining: boolean
  /** Ejected by the primary's outlier detection (from what the workers reported). */
  ejected: boolean
}

/** Counters a worker keeps per backend, summed by the primary for the admin API. */
export interface BackendCounters { inFlight: number, websockets: number, tcpConnections: number, requests: number, errors: number }

/** Per pool, per backend id. */
export type PoolCounters = Record<string, Record<string, BackendCounters>>

export type ToWorker =
  /** First message: build the gateway from this config (already validated by the primary) and listen. */
  | { t: 'start', config: GatewayConfig, configPath: string | undefined, worker: number, pools: Record<string, SharedBackendState[]> }
  /** The primary's view of one pool's backends: membership, weights, health, enable, drain. */
  | { t: 'sync', pool: string, backends: SharedBackendState[] }
  /** A reload, step one: prepare `config`, answer 'prepared'. */
  | { t: 'prepare', id: number, config: GatewayConfig }
  /** Step two: commit (or abort) the prepared reload `id`, answer 'settled'. */
  | { t: 'commit', id: number }
  | { t: 'abort', id: number }
  /** Drain and exit, as a single gateway does on SIGTERM (workers ignore signals: lib/signals.ts). */
  | { t: 'shutdown' }
  /** Answer 'counters'. */
  | { t: 'counters', id: number }
  /** Answer 'metrics': the worker's registry as JSON, for the primary's /metrics. */
  | { t: 'metrics', id: number }
  /** Another worker's circuit for this backend opened: open this worker's too. */
  | { t: 'trip', pool: string, backend: string, reason: string }
  /** The primary's count for a rate-limit key (answer to the worker's 'rate'). */
  | { t: 'rate', id: number, current: number, ttl: number }

export type FromWorker =
  /** The worker listens for its `start` (sent only then: a message before it would be lost). */
  | { t: 'hello' }
  | { t: 'ready', ports: number[] }
  /** Could not start (bad module, a port that cannot be bound): the primary gives up on starting. */
  | { t: 'failed', message: string }
  | { t: 'prepared', id: number, ok: true, needsRestart: string[] }
  | { t: 'prepared', id: number, ok: false, message: string, issues?: unknown }
  | { t: 'settled', id: number }
  | { t: 'counters', id: number, pools: PoolCounters, served: number }
  | { t: 'metrics', id: number, json: MetricsJson }
  /** This worker's outlier detection says eject this backend; the primary decides for all. */
  | { t: 'outlier', pool: string, backend: string, reason: string }
  /** This worker's circuit for a backend opened on what it saw (not on a relayed trip). */
  | { t: 'circuit', pool: string, backend: string, reason: string }
  /** Count one request of a rate-limit key in the primary; answered with the same id. */
  | { t: 'rate', id: number, key: string, window: number }

/** The env variable that tells a forked process which worker it is (1-based). */
export const WORKER_ENV = 'GATEWAY_WORKER'
