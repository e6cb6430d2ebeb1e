/**
 * The rate limiter's counters, owned by the traffic plugin rather than by one generation, so a
 * reload that builds a new generation (lib/traffic/generation.ts) keeps every client's count: a
 * client cannot escape its limit by waiting for a reload.
 *
 * It is a store for @fastify/rate-limit (its `store` option: `incr` and `child`), counting in
 * fixed windows as the plugin's own LocalStore does: a key's window starts at its first request
 * and lasts the `timeWindow` of the request that opened it. Keys are `rateKey|client`, where
 * the route's rateKey comes from its match (lib/router.ts), so reordering routes keeps counts
 * and a route whose match changed starts afresh.
 *
 * Memory is bounded: at most MAX_COUNTED keys; past it the key whose window started first is
 * dropped (the likeliest to have ended). Windows that ended are reset on the key's next request.
 * Hand-written because the plugin's stores are made per registration (so per generation) and
 * LocalStore is not part of its public API.
 */

export const MAX_COUNTED = 100_000
const DEFAULT_WINDOW_MS = 60_000

interface Window { current: number, start: number, length: number }

export interface CountResult { current: number, ttl: number }

/**
 * What @fastify/rate-limit is given as its store: these counters in one process, or in a worker
 * process the primary's (lib/cluster/rate-store.ts), so a limit holds for the whole gateway.
 */
export interface RateStore {
  incr: (key: string, cb: (err: Error | null, res: CountResult) => void, timeWindow?: number) => void
  child: () => RateStore
  readonly ctor: new () => RateStore
}

export class RateCounters implements RateStore {
  private readonly windows = new Map<string, Window>()

  constructor (private readonly now: () => number = Date.now, private readonly cap = MAX_COUNTED) {}

  /**
   * Counts one request of `key`; `cb` gets the count in its window and the ms left of it. The
   * plugin passes the route's window as the third argument (its type declarations leave it out,
   * hence optional here); DEFAULT_WINDOW_MS is the plugin's own default.
   */
  incr (key: string, cb: (err: Error | null, res: CountResult) => void, timeWindow = DEFAULT_WINDOW_MS): void {
    const now = this.now()
    let w = this.windows.get(key)
    if (w === undefined || w.start + w.length <= now) {
      // A new window goes to the end of the map, which is thus ordered by window start.
      if (w !== undefined) this.windows.delete(key)
      w = { current: 0, start: now, length: timeWindow }
      this.windows.set(key, w)
      if (this.windows.size > this.cap) this.windows.delete(this.windows.keys().next().value!)
    }
    w.current++
    cb(null, { current: w.current, ttl: w.start + w.length - now })
  }

  /** Route-level limiter options would get their own store; every limit here shares this one. */
  child (): this {
    return this
  }

  /** How many keys are counted (for tests and the bound). */
  get size (): number {
    return this.windows.size
  }

  /**
   * The value for @fastify/rate-limit's `store` option, which it calls with `new`: a
   * constructor that returns this instance, so every generation's limiter shares these counts.
   */
  get ctor (): new () => RateCounters {
    const self = this
    return function SharedCounters () { return self } as unknown as new () => RateCounters
  }
}
