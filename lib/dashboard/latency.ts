import type { Backend } from '../backend.js'
import type { BackendPool } from '../pool.js'

/**
 * Request latency for the dashboard, per backend and per pool, over the last sampling interval.
 * The request path pays one WeakMap lookup and one array increment per request (request() below,
 * called from the metrics fan-out); take() is called once per interval by the sampler, reads
 * p50/p99 and starts the next window. WeakMaps: a backend or pool gone after a reload takes its
 * counts with it.
 *
 * Buckets are logarithmic, ×1.25 from 50 µs (60 buckets reach about 30 s): a percentile is the
 * upper bound of its bucket, so it is exact to within 25%, which is what a page of figures needs.
 */
const FIRST = 0.00005
const FACTOR = 1.25
const BUCKETS = 60
const LOG_FACTOR = Math.log(FACTOR)
/** Upper bound of each bucket, in seconds. */
const BOUNDS = Array.from({ length: BUCKETS }, (_, i) => FIRST * FACTOR ** i)

export interface Percentiles { count: number, p50: number | null, p99: number | null }

export class LatencyWindows {
  private readonly backends = new WeakMap<Backend, Uint32Array>()
  private readonly pools = new WeakMap<BackendPool, Uint32Array>()

  /** A request finished through `backend` of `pool` in `seconds` (the Recorder's request()). */
  request (pool: BackendPool, backend: Backend, seconds: number): void {
    const i = seconds <= FIRST ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(seconds / FIRST) / LOG_FACTOR))
    let b = this.backends.get(backend)
    if (b === undefined) { b = new Uint32Array(BUCKETS); this.backends.set(backend, b) }
    b[i]++
    let p = this.pools.get(pool)
    if (p === undefined) { p = new Uint32Array(BUCKETS); this.pools.set(pool, p) }
    p[i]++
  }

  /** The backend's percentiles since the last take (in ms), and a new window. */
  takeBackend (backend: Backend): Percentiles {
    return take(this.backends.get(backend))
  }

  takePool (pool: BackendPool): Percentiles {
    return take(this.pools.get(pool))
  }
}

function take (counts: Uint32Array | undefined): Percentiles {
  if (counts === undefined) return { count: 0, p50: null, p99: null }
  let count = 0
  for (const c of counts) count += c
  if (count === 0) return { count: 0, p50: null, p99: null }
  const out = { count, p50: quantile(counts, count, 0.5), p99: quantile(counts, count, 0.99) }
  counts.fill(0)
  return out
}

/** Upper bound (ms, 3 significant digits) of the bucket that holds the q-quantile. */
function quantile (counts: Uint32Array, count: number, q: number): number {
  const rank = Math.ceil(q * count)
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]
    if (seen >= rank) return Number((BOUNDS[i] * 1000).toPrecision(3))
  }
  return Number((BOUNDS[BUCKETS - 1] * 1000).toPrecision(3))
}
