/**
 * The algorithm contract. An algorithm is pure selection: it is told the backend list when
 * membership or weights change, and per request it walks its preference order, offering each
 * backend to `usable` and returning the first one accepted. It never decides readiness: the pool
 * passes a predicate that says whether a backend is ready (and, on a retry, not already tried).
 * Randomness and time come from `deps`, so tests can seed and drive them.
 */
import type { TSchema } from '@sinclair/typebox'

/** What an algorithm may read of a backend. The pool owns and mutates the real object. */
export interface SelectableBackend {
  readonly id: string
  /**
   * Current weight: the configured weight, scaled down while the backend is in slow start.
   * It may change between two picks without update() being called; weighted algorithms read it
   * per pick (or treat it as a cap on their precomputed weights).
   */
  readonly weight: number
  /**
   * The configured weight, without slow start. Algorithms that precompute from weights in
   * update() (hash rings, Maglev tables) use this, so a ramping backend is not built in small.
   */
  readonly configWeight?: number
  /** Requests this backend is serving now (open sockets for WebSocket/TCP). */
  readonly inFlight: number
}

/** Per-request selection context, built once per request by the proxy. */
export interface SelectionContext {
  /** 0 for the first try, 1 for the first retry, … */
  attempt: number
  /**
   * The request's key, extracted as the algorithm's definition asked (client IP, a header,
   * a cookie or the path); undefined when it asks for none or the request has none.
   */
  key: string | undefined
}

export interface Outcome {
  /** False for connect errors, resets, timeouts and 5xx answers. */
  ok: boolean
  /** Time from dispatch to the end of the backend's answer headers or the failure, in ms. */
  latencyMs: number
  /** The backend's in-flight count when this request was dispatched, this request included. */
  inFlight: number
}

export interface Algorithm<B extends SelectableBackend = SelectableBackend> {
  /** Called with the full backend list whenever membership or configured weights change. */
  update (backends: readonly B[]): void
  /** The first backend, in this algorithm's preference order, for which `usable` is true. */
  pick (ctx: SelectionContext, usable: (b: B) => boolean): B | undefined
  /** Optional feedback after each response (or failure) of a backend this algorithm picked. */
  observe? (backend: B, outcome: Outcome): void
  /**
   * Optional response affinity (sticky sessions): a Set-Cookie value to add to the answer when
   * `backend` was picked, or undefined when the client is already pinned to it.
   */
  affinity? (ctx: SelectionContext, backend: B): string | undefined
}

export interface AlgorithmDeps {
  /** Uniform in [0, 1). */
  random: () => number
  /** Monotonic milliseconds. */
  now: () => number
}

/** Which part of the request becomes SelectionContext.key. */
export type KeySource =
  | { from: 'ip' }
  | { from: 'path' }
  | { from: 'header', name: string }
  | { from: 'cookie', name: string }

/**
 * One algorithm: its options schema (the options are the keys of `algorithm: { name, ... }`
 * other than name/module), the key it needs from each request, and its factory. The config
 * loader validates options against `options` and rejects unknown names at load time.
 */
export interface AlgorithmDefinition<O = Record<string, unknown>> {
  /** TypeBox schema of the options object; defaults in the schema are applied at load. */
  readonly options: TSchema
  /** The request key this algorithm needs, given its (validated) options. */
  key? (options: O): KeySource | undefined
  create<B extends SelectableBackend> (options: O, deps: AlgorithmDeps): Algorithm<B>
}
