/**
 * What the simulator runs: backends as servers with `slots` parallel workers and a FIFO queue,
 * lognormal service times around a mean that may change over time, Poisson arrivals, and a
 * client timeout after which a request counts as an error.
 */
export interface ServerSpec {
  id: string
  /** Requests served in parallel; the rest wait in FIFO order. */
  slots: number
  /** Mean service time in ms for a request starting service at time t (ms) of a run. */
  meanMs: (t: number, durationMs: number) => number
}

export interface Scenario {
  durationMs: number
  /** Poisson arrival rate, requests per second. */
  ratePerSec: number
  /** A request not answered this long after arrival fails and is dropped from the queue. */
  timeoutMs: number
  /** Shape of the lognormal service times (σ of the underlying normal). */
  sigma: number
  servers: ServerSpec[]
}

/** Requests per second the servers can take at their mean speeds at time t. */
export function capacity (s: Scenario, t: number): number {
  let c = 0
  for (const b of s.servers) c += b.slots * 1000 / b.meanMs(t, s.durationMs)
  return c
}

const fast = (): number => 10
const slow = (): number => 100
/** 10 ms, except 80 ms during the middle third of the run. */
const flaky = (t: number, d: number): number => (t >= d / 3 && t < 2 * d / 3 ? 80 : 10)

/**
 * Three fast servers (10 ms), one ten times slower (100 ms) and one that slows to 80 ms during
 * the middle third and recovers, 4 slots each, at `load` of the healthy pool's capacity
 * (≈ 1640 req/s). The default 0.6 keeps good algorithms unsaturated even in the middle third
 * (fast-only capacity is 1200 req/s), while round-robin's fixed fifth overflows the slow server.
 */
export function defaultScenario (durationMs = 60_000, load = 0.6): Scenario {
  const s: Scenario = {
    durationMs,
    ratePerSec: 0,
    timeoutMs: 1000,
    sigma: 0.5,
    servers: [
      { id: 'fast-1', slots: 4, meanMs: fast },
      { id: 'fast-2', slots: 4, meanMs: fast },
      { id: 'fast-3', slots: 4, meanMs: fast },
      { id: 'slow', slots: 4, meanMs: slow },
      { id: 'flaky', slots: 4, meanMs: flaky }
    ]
  }
  s.ratePerSec = load * capacity(s, 0)
  return s
}
