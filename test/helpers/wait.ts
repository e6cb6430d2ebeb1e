/**
 * Bounded waits. A test that waits for something (a count to drop, a log line, a close) must
 * fail with a message saying what it waited for and what it last saw, not hang until tap's
 * timeout (or, worse, pass a t.pass() that only ran because nothing went wrong in time).
 *
 * The deadlines guard against hanging; they are never timing assertions (tests assert no
 * timings), so they are generous: WAIT_TIMEOUT_MS unless a test needs longer.
 */
import { performance } from 'node:perf_hooks'
import { inspect } from 'node:util'

// Captured at load: a test may replace globalThis.setTimeout to hold some timers back
// (websocket-close-completion.test.ts); the waits here must keep working meanwhile.
const realSetTimeout = globalThis.setTimeout
const realClearTimeout = globalThis.clearTimeout

/** The default deadline of every wait here. */
export const WAIT_TIMEOUT_MS = 5000
/** How often waitFor() evaluates its condition. */
export const POLL_INTERVAL_MS = 10

export interface WaitOptions {
  /** What is awaited, as a clause: the error reads "timed out after N ms waiting until <message>". */
  message: string
  /** Default WAIT_TIMEOUT_MS. */
  timeoutMs?: number
  /** Describes the state at the deadline, for the error ("last saw: …"). */
  seen?: () => unknown
}

function timeoutError (opts: WaitOptions, ms: number): Error {
  const seen = opts.seen === undefined ? '' : `; last saw: ${inspect(opts.seen(), { depth: 4, breakLength: Infinity })}`
  return new Error(`timed out after ${ms} ms waiting until ${opts.message}${seen}`)
}

/**
 * Evaluates `condition` now and then every POLL_INTERVAL_MS until it returns true; rejects with
 * an error naming `message` (and `seen()`) once `timeoutMs` has passed without it. An error
 * thrown by the condition is passed on at once: it is a failure, not a "not yet".
 */
export async function waitFor (condition: () => boolean | Promise<boolean>, opts: WaitOptions): Promise<void> {
  const ms = opts.timeoutMs ?? WAIT_TIMEOUT_MS
  const deadline = performance.now() + ms
  for (;;) {
    if (await condition()) return
    if (performance.now() >= deadline) throw timeoutError(opts, ms)
    await new Promise((resolve) => realSetTimeout(resolve, POLL_INTERVAL_MS))
  }
}

/**
 * `p`, or a rejection naming `message` (and `seen()`) when it has not settled within
 * `timeoutMs`. For events a test awaits: a close, a request reaching a backend, a shutdown.
 */
export async function within<T> (p: Promise<T>, opts: WaitOptions): Promise<T> {
  const ms = opts.timeoutMs ?? WAIT_TIMEOUT_MS
  let timer: ReturnType<typeof setTimeout> | undefined
  const guard = new Promise<never>((_resolve, reject) => {
    timer = realSetTimeout(() => { reject(timeoutError(opts, ms)) }, ms)
  })
  try {
    return await Promise.race([p, guard])
  } finally {
    realClearTimeout(timer)
  }
}
