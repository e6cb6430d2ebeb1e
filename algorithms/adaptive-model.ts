/**
 * One backend's learned model for the adaptive algorithm: latency as a linear function of the
 * number of requests in flight at dispatch, and an error rate, both learned online from the
 * outcomes the gateway observes passively (no probes on the wire).
 *
 * Fit: weighted least squares of latency = a + b·x (x = in-flight at dispatch, this request
 * included) over every successful answer, the weight of a sample being 2^(−age/halfLife). That is
 * recursive least squares with exponential forgetting, kept as five decayed sums (Σw, Σwx, Σwy,
 * Σwx², Σwxy) rather than an RLS covariance matrix: the sums cannot wind up when x barely varies,
 * and decaying them by the time since the last sample makes forgetting a matter of seconds
 * whatever the request rate. A change of a backend's speed is half learned after one half-life,
 * and faster on surprise: an answer more than 4× off the prediction (either way) first scales
 * the history down to a quarter, so a backend that turned 8× slower or faster is re-learned in a
 * handful of answers; one outlier among a busy backend's hundreds of samples hardly moves it.
 * An answer more than 2× off marks the model `changing`, which makes the algorithm explore it
 * again sooner.
 *
 * The slope is shrunk toward a prior, b = (cov(x, y) + K·b0) / (var(x) + K), b0 = ȳ / (x̄ + 1),
 * so a backend only ever seen at one load level still predicts that more load means more
 * latency (a single FIFO server's ȳ/x̄ would be the pessimistic bound). b is kept ≥ 0 (latency
 * never falls with load; a negative slope learned from noise would attract a herd) and a ≥ 0.
 *
 * Errors: an EWMA of the failure rate with the same time weights, e = Σw·fail / (Σw + 1) (the
 * +1 is a pseudo-success, so one failure of a barely known backend is not a 100% error rate).
 * Failures do not enter the latency fit: a refused connection is fast and a timeout is the
 * timeout, neither says how long the backend takes to answer.
 */
const PRIOR_STRENGTH = 0.5
const SURPRISE = 4
const SURPRISE_KEEP = 0.25
const CHANGING = 2
const MAX_ERROR_RATE = 0.9

export class LatencyModel {
  private s0 = 0
  private sx = 0
  private sy = 0
  private sxx = 0
  private sxy = 0
  private fails = 0
  private total = 0
  /** When the sums were last decayed. */
  private at: number
  /** Time of the last sample or exploration dispatch; the algorithm explores stale models. */
  touched: number
  /** Fitted intercept and slope; meaningful once `known`. */
  a = 0
  b = 0
  /** Score multiplier for errors: 1 / (1 − e)², e capped at 0.9 (so at most 100). */
  penalty = 1
  /** The last answer was more than 2× off the prediction: the backend may be changing speed. */
  changing = false
  /** False until the model has a latency sample (real, or the seed given at creation). */
  known = false

  constructor (private readonly halfLifeMs: number, now: number) {
    this.at = now
    this.touched = now
  }

  /** Starts a new backend at a reference latency, as one pseudo-sample at x = 1. */
  seed (latencyMs: number): void {
    this.add(1, latencyMs)
    this.fit()
  }

  observe (now: number, ok: boolean, latencyMs: number, inFlight: number): void {
    this.decay(now)
    this.touched = now
    this.total += 1
    if (ok) {
      const x = Math.max(1, inFlight)
      if (this.known) {
        const r = latencyMs / Math.max(1e-3, this.predict(x))
        this.changing = r > CHANGING || r * CHANGING < 1
        if (r > SURPRISE || r * SURPRISE < 1) this.forget(SURPRISE_KEEP)
      }
      this.add(x, latencyMs)
      this.fit()
    } else {
      this.fails += 1
    }
    const e = Math.min(MAX_ERROR_RATE, this.fails / (this.total + 1))
    this.penalty = 1 / ((1 - e) * (1 - e))
  }

  /** Predicted latency of a request dispatched when `inFlight` requests (it included) are out. */
  predict (inFlight: number): number {
    return this.a + this.b * inFlight
  }

  private decay (now: number): void {
    const dt = now - this.at
    if (dt <= 0) return
    this.at = now
    const d = Math.pow(2, -dt / this.halfLifeMs)
    this.forget(d)
    this.fails *= d
    this.total *= d
  }

  /** Scales the latency history by d (< 1): older samples count for less. */
  private forget (d: number): void {
    this.s0 *= d
    this.sx *= d
    this.sy *= d
    this.sxx *= d
    this.sxy *= d
  }

  private add (x: number, y: number): void {
    this.s0 += 1
    this.sx += x
    this.sy += y
    this.sxx += x * x
    this.sxy += x * y
  }

  private fit (): void {
    const mx = this.sx / this.s0
    const my = this.sy / this.s0
    const vx = Math.max(0, this.sxx / this.s0 - mx * mx)
    const cxy = this.sxy / this.s0 - mx * my
    const prior = my / (mx + 1)
    let b = Math.max(0, (cxy + PRIOR_STRENGTH * prior) / (vx + PRIOR_STRENGTH))
    let a = my - b * mx
    if (a < 0) {
      a = 0
      b = my / mx
    }
    this.a = a
    this.b = b
    this.known = true
  }
}
