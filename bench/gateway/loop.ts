/**
 * A closed-loop load driver for the loads autocannon cannot make (new TLS connections, HTTP/2,
 * gRPC): `slots` concurrent loops each run one operation, wait for it, and start the next, for
 * `seconds`. Returns a Row of the bench's table: successful operations per second, p50/p99
 * latency in ms (node:perf_hooks histogram, microsecond resolution), answers that were not a
 * success ('non2xx') and errors (the operation threw: reset, refused, timed out).
 *
 * Bounded: no operation starts after `seconds` (or once stopLoad() was called); the loops then
 * get DRAIN_MS to finish the ones in flight, and the run resolves without them if they hang.
 * After an error a slot waits ERROR_PAUSE_MS so a refusing target is not spun against.
 */
import { createHistogram } from 'node:perf_hooks'
import { isStopping, type Row } from './load.js'

export type Outcome = 'ok' | 'non2xx'
export type Operation = () => Promise<Outcome>

const DRAIN_MS = 5_000
const ERROR_PAUSE_MS = 10

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function closedLoop (target: string, slots: number, seconds: number, op: Operation): Promise<Row> {
  const histogram = createHistogram()
  let done = 0
  let non2xx = 0
  let errors = 0
  const started = performance.now()
  const until = started + seconds * 1000
  const slot = async (): Promise<void> => {
    while (performance.now() < until && !isStopping()) {
      const t0 = performance.now()
      try {
        const outcome = await op()
        histogram.record(Math.max(1, Math.round((performance.now() - t0) * 1000)))
        done++
        if (outcome === 'non2xx') non2xx++
      } catch {
        errors++
        await sleep(ERROR_PAUSE_MS)
      }
    }
  }
  const all = Promise.all(Array.from({ length: slots }, slot))
  await Promise.race([all, sleep(seconds * 1000 + DRAIN_MS)])
  const elapsed = (performance.now() - started) / 1000
  const ms = (p: number): number => done > 0 ? Number((histogram.percentile(p) / 1000).toFixed(2)) : 0
  const rps = (done - non2xx) / Math.min(elapsed, seconds + DRAIN_MS / 1000)
  return { target, rps: Number(rps.toFixed(1)), p50: ms(50), p99: ms(99), non2xx, errors }
}
