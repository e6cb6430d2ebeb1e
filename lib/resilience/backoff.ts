/**
 * Delays between tries. Pure functions; all randomness comes from the caller's `random`
 * (uniform in [0, 1), like Math.random), so tests can seed it.
 */

/**
 * Capped exponential backoff with full jitter (Marc Brooker, "Exponential Backoff And Jitter",
 * AWS Architecture Blog, 2015): sleep = random_between(0, min(cap, base × 2^attempt)).
 * Spreading retries over the whole interval, rather than around its end, is what keeps clients
 * that failed together from retrying together.
 *
 * `attempt` 0 is the first retry (its delay is below `base`). A negative attempt counts as 0.
 * The result is in [0, min(max, base × 2^attempt)), in ms, not rounded.
 */
export function fullJitterBackoff (attempt: number, base: number, max: number, random: () => number): number {
  // The exponent is clamped so that base 0 cannot become 0 × Infinity = NaN; 2^52 × any base
  // of at least 1 ms is far past any sensible cap.
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 0), 52))
  return random() * ceiling
}

/**
 * `ms` moved by up to ± jitter × ms, uniformly: ms × (1 + jitter × (2·random − 1)). For schedules
 * (health-check intervals and the like) so that many timers started together drift apart.
 * `jitter` is a fraction (0.1: ±10 %); the result never goes below 0, even for jitter > 1.
 */
export function jittered (ms: number, jitter: number, random: () => number): number {
  return Math.max(0, ms * (1 + jitter * (2 * random() - 1)))
}
