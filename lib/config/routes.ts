/**
 * Kept at this path for the code and tests that import from it. The routes section itself is
 * sections/routes.ts.
 */
export { normaliseHost, normaliseRoutes } from './sections/routes.js'
