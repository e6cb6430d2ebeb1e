import type { CountResult, RateStore } from '../traffic/rate-counters.js'
import type { FromWorker, ToWorker } from './messages.js'

/** A count the primary has not answered within this is let through (and logged once). */
const ANSWER_TIMEOUT_MS = 1000

/**
 * A worker's rate-limit store: every count is made by the primary, in its one RateCounters, so
 * a limit of 100 per second stays 100 for the whole gateway, not 100 per worker. The price is one
 * IPC round trip per request, on rate-limited routes only (docs/workers.md). If the primary does
 * not answer in time the request is let through: a limiter that fails closed would turn a slow
 * primary into an outage.
 */
export class RemoteRateStore implements RateStore {
  private seq = 0
  private readonly pending = new Map<number, { cb: (err: Error | null, res: CountResult) => void, timer: NodeJS.Timeout }>()
  private warned = false

  constructor (private readonly send: (m: FromWorker) => void, private readonly onTimeout: () => void) {}

  incr (key: string, cb: (err: Error | null, res: CountResult) => void, timeWindow = 60_000): void {
    const id = ++this.seq
    const timer = setTimeout(() => {
      this.pending.delete(id)
      if (!this.warned) { this.warned = true; this.onTimeout() }
      cb(null, { current: 0, ttl: timeWindow })
    }, ANSWER_TIMEOUT_MS)
    this.pending.set(id, { cb, timer })
    this.send({ t: 'rate', id, key, window: timeWindow })
  }

  /** The primary's answer to a count. */
  settle (m: Extract<ToWorker, { t: 'rate' }>): void {
    const p = this.pending.get(m.id)
    if (p === undefined) return
    this.pending.delete(m.id)
    clearTimeout(p.timer)
    p.cb(null, { current: m.current, ttl: m.ttl })
  }

  child (): this {
    return this
  }

  get ctor (): new () => RemoteRateStore {
    const self = this
    return function PrimaryCounters () { return self } as unknown as new () => RemoteRateStore
  }
}
