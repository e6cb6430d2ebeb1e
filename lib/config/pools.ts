/**
 * Kept at this path for code outside lib/config/ (routes/admin.ts parses backend URLs added at
 * run time with parseBackendUrl). The pools section itself is sections/pools.ts, its backends
 * sections/backends.ts.
 */
export { normalisePools } from './sections/pools.js'
export { parseBackendUrl } from './sections/backends.js'
