import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { BACKEND_STATES, type BackendState } from '../lib/pool/state.js'
import type { BackendSnapshot } from '../lib/pool/snapshot.js'
import type { CircuitState } from '../lib/resilience/breaker.js'

/**
 * Response schemas of the admin backend routes: they document the answers in the OpenAPI
 * document (/docs/json) and Fastify serializes with them. A serializer drops what its schema does
 * not list, so BackendView must list every field of BackendSnapshot; the type check below fails
 * to compile when the two differ.
 */

/** A string enum (`{ type: string, enum: [...] }`, not anyOf of consts) that reads well in OpenAPI. */
const words = <T extends string>(values: readonly T[], description: string): TSchema & { static: T } =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], description })

const CIRCUIT_STATES = ['closed', 'open', 'half-open', 'none'] as const satisfies ReadonlyArray<CircuitState | 'none'>

export const BackendView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  weight: Type.Number(),
  effectiveWeight: Type.Number({ description: 'Below weight while the backend is in slow start' }),
  state: words<BackendState>(BACKEND_STATES, 'One word for the backend\'s state; when several hold, the first of ' +
    `${BACKEND_STATES.join(' > ')} wins. open: circuit open or half-open. See docs/admin.md`),
  ready: Type.Boolean({ description: 'May take a new request now' }),
  healthy: Type.Boolean(),
  ejected: Type.Boolean(),
  enabled: Type.Boolean(),
  draining: Type.Boolean(),
  circuit: words(CIRCUIT_STATES, 'Circuit breaker state; none when the pool has no breaker'),
  inFlight: Type.Integer(),
  websockets: Type.Integer(),
  tcpConnections: Type.Integer(),
  requests: Type.Integer(),
  errors: Type.Integer()
})

/** What a backend write answers: the backend, and the config revision the change produced. */
export const BackendChanged = Type.Composite([BackendView, Type.Object({ revision: Type.Integer({ description: 'The config revision this change produced (also the ETag)' }) })])

export const PoolView = Type.Object({
  name: Type.String(),
  algorithm: Type.String(),
  ready: Type.Integer({ description: 'Backends that may take a new request now' }),
  backends: Type.Array(BackendView)
})

export const PoolsView = Type.Object({ pools: Type.Array(PoolView) })

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
/** Compiles only while BackendView and BackendSnapshot have the same fields and types. */
export const BACKEND_VIEW_MATCHES_SNAPSHOT: Same<Static<typeof BackendView>, BackendSnapshot> = true
