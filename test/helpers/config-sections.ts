/**
 * Every section's defaults constant, and where the section sits in docs/configuration.md (the
 * code span of its table's heading) and in the root schema (its key path, `*` for a pool name
 * or a list item). Shared by config-documented-defaults.test.ts (docs tables against the
 * constants) and config-schema-defaults.test.ts (`default:` annotations against the constants).
 *
 * A new *_DEFAULTS constant in lib/config/sections/ must be added to DEFAULTS_CONSTANTS and to a
 * SECTIONS entry: config-documented-defaults.test.ts fails until it is.
 */
import { LISTEN_DEFAULTS } from '../../lib/config/sections/listen.js'
import { LISTEN_TLS_DEFAULTS } from '../../lib/config/sections/listen-tls.js'
import { ADMIN_DEFAULTS } from '../../lib/config/sections/admin.js'
import { POOL_DEFAULTS } from '../../lib/config/sections/pools.js'
import { ALGORITHM_DEFAULTS } from '../../lib/config/sections/algorithm.js'
import { BACKEND_DEFAULTS } from '../../lib/config/sections/backends.js'
import { TLS_DEFAULTS } from '../../lib/config/sections/tls.js'
import { HEALTH_DEFAULTS } from '../../lib/config/sections/health.js'
import { CIRCUIT_BREAKER_DEFAULTS } from '../../lib/config/sections/circuit-breaker.js'
import { RETRY_DEFAULTS } from '../../lib/config/sections/retry.js'
import { ROUTE_DEFAULTS } from '../../lib/config/sections/routes.js'
import { LOG_DEFAULTS } from '../../lib/config/sections/log.js'
import { METRICS_DEFAULTS } from '../../lib/config/sections/metrics.js'
import { SHUTDOWN_DEFAULTS } from '../../lib/config/sections/shutdown.js'
import { WEBSOCKET_DEFAULTS } from '../../lib/config/sections/websocket.js'
import { TCP_DEFAULTS } from '../../lib/config/sections/tcp.js'
import { WORKERS_DEFAULTS } from '../../lib/config/sections/workers.js'
import { STORE_DEFAULTS, STORE_ETCD_DEFAULTS, STORE_FILE_DEFAULTS, STORE_REDIS_DEFAULTS } from '../../lib/config/sections/store.js'

export const DEFAULTS_CONSTANTS: Readonly<Record<string, object>> = {
  LISTEN_DEFAULTS,
  LISTEN_TLS_DEFAULTS,
  ADMIN_DEFAULTS,
  POOL_DEFAULTS,
  ALGORITHM_DEFAULTS,
  BACKEND_DEFAULTS,
  TLS_DEFAULTS,
  HEALTH_DEFAULTS,
  CIRCUIT_BREAKER_DEFAULTS,
  RETRY_DEFAULTS,
  ROUTE_DEFAULTS,
  LOG_DEFAULTS,
  METRICS_DEFAULTS,
  SHUTDOWN_DEFAULTS,
  WEBSOCKET_DEFAULTS,
  TCP_DEFAULTS,
  WORKERS_DEFAULTS,
  STORE_DEFAULTS,
  STORE_FILE_DEFAULTS,
  STORE_ETCD_DEFAULTS,
  STORE_REDIS_DEFAULTS
}

export interface Section {
  /** The first code span of the docs heading over the section's table. */
  docs: string
  /** Dotted key path in the YAML; `*` for any pool name or list index. */
  schema: string
  /** The defaults, keyed like the YAML below `schema`. */
  defaults: object
}

export const SECTIONS: readonly Section[] = [
  { docs: 'listen', schema: 'listen', defaults: LISTEN_DEFAULTS },
  { docs: 'listen.tls', schema: 'listen.tls', defaults: LISTEN_TLS_DEFAULTS },
  { docs: 'admin', schema: 'admin', defaults: ADMIN_DEFAULTS },
  // The pool's table also lists its algorithm (a name, or a mapping) and its tls keys.
  { docs: 'pools.<name>', schema: 'pools.*', defaults: { ...POOL_DEFAULTS, algorithm: ALGORITHM_DEFAULTS.name, tls: TLS_DEFAULTS } },
  { docs: 'pools.<name>.backends[]', schema: 'pools.*.backends.*', defaults: BACKEND_DEFAULTS },
  { docs: 'pools.<name>.healthCheck.active', schema: 'pools.*.healthCheck.active', defaults: HEALTH_DEFAULTS.active },
  { docs: 'pools.<name>.healthCheck.passive', schema: 'pools.*.healthCheck.passive', defaults: HEALTH_DEFAULTS.passive },
  { docs: 'pools.<name>.circuitBreaker', schema: 'pools.*.circuitBreaker', defaults: CIRCUIT_BREAKER_DEFAULTS },
  { docs: 'pools.<name>.retry', schema: 'pools.*.retry', defaults: RETRY_DEFAULTS },
  { docs: 'routes', schema: 'routes.*', defaults: ROUTE_DEFAULTS },
  { docs: 'log', schema: 'log', defaults: LOG_DEFAULTS },
  { docs: 'metrics', schema: 'metrics', defaults: METRICS_DEFAULTS },
  { docs: 'plugins', schema: 'plugins.*', defaults: {} },
  { docs: 'shutdown', schema: 'shutdown', defaults: SHUTDOWN_DEFAULTS },
  { docs: 'websocket', schema: 'websocket', defaults: WEBSOCKET_DEFAULTS },
  { docs: 'tcp', schema: 'tcp.*', defaults: TCP_DEFAULTS },
  // `workers: N` is short for `workers: { count: N }`.
  { docs: 'workers', schema: 'workers', defaults: WORKERS_DEFAULTS },
  { docs: 'store', schema: 'store', defaults: STORE_DEFAULTS },
  { docs: 'store.file', schema: 'store.file', defaults: STORE_FILE_DEFAULTS },
  { docs: 'store.etcd', schema: 'store.etcd', defaults: STORE_ETCD_DEFAULTS },
  { docs: 'store.redis', schema: 'store.redis', defaults: STORE_REDIS_DEFAULTS }
]

export function isMapping (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The value at a dotted path, or undefined. */
export function valueAt (o: unknown, path: string): unknown {
  let node = o
  for (const key of path.split('.')) {
    if (!isMapping(node) || !Object.hasOwn(node, key)) return undefined
    node = node[key]
  }
  return node
}

/** Dotted paths of every default: scalars and lists are leaves, mappings are walked into. */
export function leafPaths (o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => isMapping(v) ? leafPaths(v, `${prefix}${k}.`) : [`${prefix}${k}`])
}
