/**
 * The time source of the health code, injected so tests can drive timing logic with a fake
 * clock (test/helpers/fake-clock.ts) instead of sleeping.
 *
 * Contract: now() is monotonic milliseconds (not wall-clock time: never compare it with
 * Date.now()); setTimeout(fn, ms) calls fn once, no earlier than ms from now, unless the
 * returned handle is passed to clearTimeout first; clearTimeout accepts a handle that already
 * fired or was already cleared and then does nothing.
 */
export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

/**
 * The process clock. Timers are unref'd: background probing and ejection timers must never keep
 * the process alive on their own (shutdown stops them anyway, in onClose).
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => { clearTimeout(handle as NodeJS.Timeout) }
}
