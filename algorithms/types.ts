/**
 * The algorithm contract. An algorithm is pure selection: it is told the backend list when
 * membership or weights change, and per request it walks its preference order, offering each
 * backend to `usable` and returning the first one accepted. It never decides readiness: the pool
 * passes a predicate that says whether a backend is ready (and not already tried). Randomness
 * comes from `deps.random` so tests can seed it.
 */

/** What an algorithm may read of a backend. The pool owns and mutates the real object. */
export interface SelectableBackend {
  readonly id: string
  readonly weight: number
  readonly inFlight: number
}

/** Per-request selection context, built once per request by the proxy. */
export interface SelectionContext {
  /** 0 for the first try, 1 for the first retry, … */
  attempt: number
}

export interface Outcome {
  ok: boolean
  latencyMs: number
}

export interface Algorithm<B extends SelectableBackend = SelectableBackend> {
  /** Called with the full backend list whenever membership or weights change. */
  update (backends: readonly B[]): void
  /** The first backend, in this algorithm's preference order, for which `usable` is true. */
  pick (ctx: SelectionContext, usable: (b: B) => boolean): B | undefined
  /** Optional feedback after each response. */
  observe? (backend: B, outcome: Outcome): void
}

export interface AlgorithmDeps {
  random: () => number
}

export type AlgorithmFactory = <B extends SelectableBackend>(
  options: Record<string, unknown>, deps: AlgorithmDeps) => Algorithm<B>
