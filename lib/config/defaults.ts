/**
 * DEFAULTS: the defaults in the shape the loader has always exported them in (load.ts re-exports
 * it; test/config-defaults.test.ts pins that shape). It is a view, not a source: every value is
 * read from a section's own constant (LISTEN_DEFAULTS, POOL_DEFAULTS, ...), which is where a
 * default is set or changed. New keys go to their section's constant only; this view keeps its
 * shape (it never gained the resilience or metrics defaults, and does not now).
 */

import { LISTEN_DEFAULTS } from './sections/listen.js'
import { ADMIN_DEFAULTS } from './sections/admin.js'
import { POOL_DEFAULTS } from './sections/pools.js'
import { ALGORITHM_DEFAULTS } from './sections/algorithm.js'
import { TLS_DEFAULTS } from './sections/tls.js'
import { BACKEND_DEFAULTS } from './sections/backends.js'
import { ROUTE_DEFAULTS } from './sections/routes.js'
import { LOG_DEFAULTS } from './sections/log.js'
import { SHUTDOWN_DEFAULTS } from './sections/shutdown.js'
import { WEBSOCKET_DEFAULTS } from './sections/websocket.js'
import { TCP_DEFAULTS } from './sections/tcp.js'

/** Defaults in normalised units: durations in ms, sizes in bytes. Frozen all the way down. */
export const DEFAULTS = Object.freeze({
  listen: LISTEN_DEFAULTS,
  admin: ADMIN_DEFAULTS,
  pool: Object.freeze({
    algorithm: ALGORITHM_DEFAULTS.name,
    hostHeader: POOL_DEFAULTS.hostHeader,
    slowStart: POOL_DEFAULTS.slowStart,
    timeouts: POOL_DEFAULTS.timeouts,
    tls: TLS_DEFAULTS
  }),
  backend: BACKEND_DEFAULTS,
  route: Object.freeze({
    pathPrefix: ROUTE_DEFAULTS.match.pathPrefix,
    stripPrefix: ROUTE_DEFAULTS.stripPrefix,
    maxBodySize: ROUTE_DEFAULTS.maxBodySize
  }),
  log: LOG_DEFAULTS,
  shutdown: SHUTDOWN_DEFAULTS,
  websocket: WEBSOCKET_DEFAULTS,
  tcp: Object.freeze({
    idleTimeout: TCP_DEFAULTS.idleTimeout,
    maxConnections: TCP_DEFAULTS.maxConnections,
    drainTimeout: TCP_DEFAULTS.drainTimeout
  })
})
