/**
 * The normalised gateway configuration: what the loader returns after parsing, substituting,
 * validating and applying defaults. Every duration is in milliseconds, every size in bytes.
 * The rest of the gateway reads only this shape, never raw YAML.
 *
 * Each section's type lives with its schema, defaults and normaliser in sections/*.ts; this file
 * composes them into GatewayConfig and re-exports them, so code outside lib/config/ imports
 * config types from here only.
 *
 * Contract: keys present here are kept by later versions (they may gain siblings, never renames).
 */

import type { ListenConfig } from './sections/listen.js'
import type { AdminConfig } from './sections/admin.js'
import type { PoolConfig } from './sections/pools.js'
import type { RouteConfig } from './sections/routes.js'
import type { LogConfig } from './sections/log.js'
import type { MetricsConfig } from './sections/metrics.js'
import type { PluginConfig } from './sections/plugins.js'
import type { ShutdownConfig } from './sections/shutdown.js'
import type { WorkersConfig } from './sections/workers.js'
import type { StoreConfig } from './sections/store.js'
import type { WebSocketConfig } from './sections/websocket.js'
import type { TcpListenerConfig } from './sections/tcp.js'

export type { ListenConfig, AdminConfig, PoolConfig, RouteConfig, LogConfig, MetricsConfig, PluginConfig, ShutdownConfig, WebSocketConfig, TcpListenerConfig, WorkersConfig }
export type { TimeoutsConfig } from './sections/pools.js'
export type { AlgorithmConfig } from './sections/algorithm.js'
export type { BackendConfig } from './sections/backends.js'
export type { TlsConfig } from './sections/tls.js'
export type { ActiveHealthConfig, BackoffConfig, HealthCheckConfig, PassiveHealthConfig } from './sections/health.js'
export type { CircuitBreakerConfig } from './sections/circuit-breaker.js'
export type { RetryConfig } from './sections/retry.js'
export type { RouteMatch } from './sections/routes.js'
export type { HeaderRules } from './sections/header-rules.js'
export type { StatsdConfig } from './sections/metrics.js'

export interface GatewayConfig {
  /** The client listeners, in config order (at least one). */
  listen: ListenConfig[]
  admin: AdminConfig
  pools: Record<string, PoolConfig>
  /** Tried in order; first match wins. Never empty after loading (one pool and no routes: a catch-all). */
  routes: RouteConfig[]
  log: LogConfig
  metrics: MetricsConfig
  /** Middleware: Fastify plugins registered in the proxy's scope, in order, before its route. */
  plugins: PluginConfig[]
  shutdown: ShutdownConfig
  websocket: WebSocketConfig
  /** Layer-4 listeners (empty: none). */
  tcp: TcpListenerConfig[]
  /** Worker processes (lib/cluster/); count 1: a single process. */
  workers: WorkersConfig
  store: StoreConfig
}
