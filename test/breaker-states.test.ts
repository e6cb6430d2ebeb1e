// Circuit breaker state machine: exact transitions and reasons, driven by a fake clock.
import t from 'tap'
import type { CircuitBreakerConfig } from '../lib/config/types.js'
import { CircuitBreaker, type CircuitState } from '../lib/resilience/breaker.js'

const base: CircuitBreakerConfig = {
  failureRateThreshold: 50,
  window: 10_000,
  minimumRequests: 10,
  consecutiveFailures: 0,
  openDuration: 1000,
  maxOpenDuration: 5000,
  halfOpenRequests: 2,
  maxConnections: 0,
  maxPendingRequests: 0
}

function setup (over: Partial<CircuitBreakerConfig> = {}) {
  const clock = { t: 0 }
  const events: string[] = []
  const breaker: CircuitBreaker = new CircuitBreaker({ ...base, ...over }, {
    now: () => clock.t,
    // The state read inside the listener shows the change is applied before it is announced.
    onChange: (from: CircuitState, to: CircuitState, reason: string) => { events.push(`${from}>${to}:${reason}@${breaker.state}`) }
  })
  const outcomes = (...oks: boolean[]) => { for (const ok of oks) breaker.record(ok) }
  const trial = (ok: boolean) => { breaker.onDispatch(); breaker.record(ok) }
  return { clock, events, breaker, outcomes, trial }
}
const F = false
const T = true

t.test('failure-rate opens only once minimumRequests outcomes are in the window', async (t) => {
  const { breaker, events, outcomes } = setup()
  outcomes(F, F, F, F, F, F, F, F, F) // 9 of 9 failed, but fewer than 10 outcomes
  t.equal(breaker.state, 'closed')
  t.ok(breaker.allows())
  outcomes(F)
  t.equal(breaker.state, 'open')
  t.notOk(breaker.allows())
  t.same(events, ['closed>open:failure-rate@open'])
})

t.test('failure-rate is failures/total ≥ threshold, checked after every outcome', async (t) => {
  const below = setup()
  below.outcomes(F, F, F, F, T, T, T, T, T, T) // 40 %
  t.equal(below.breaker.state, 'closed')
  const at = setup()
  at.outcomes(F, F, F, F, F, T, T, T, T) // 5 of 9: not enough outcomes yet
  t.equal(at.breaker.state, 'closed')
  at.outcomes(T) // the 10th outcome, a success, brings the window to 5/10 = 50 %
  t.same(at.events, ['closed>open:failure-rate@open'])
})

t.test('consecutiveFailures in a row opens; a success in between restarts the count', async (t) => {
  const { breaker, events, outcomes } = setup({ consecutiveFailures: 3, minimumRequests: 100 })
  outcomes(F, F, T, F, F)
  t.equal(breaker.state, 'closed')
  outcomes(F)
  t.same(events, ['closed>open:consecutive-failures@open'])
  const off = setup({ consecutiveFailures: 0, minimumRequests: 100 })
  off.outcomes(F, F, F, F, F, F, F, F)
  t.equal(off.breaker.state, 'closed', '0 turns the consecutive rule off')
})

t.test('open turns half-open lazily after openDuration, at the next dispatch; allows() answers without side effects', async (t) => {
  const { breaker, clock, events, outcomes } = setup({ consecutiveFailures: 1 })
  clock.t = 500
  outcomes(F)
  t.same(breaker.snapshot(), { state: 'open', failures: 1, total: 1, openUntil: 1500 })
  clock.t = 1499
  t.notOk(breaker.allows())
  t.equal(breaker.state, 'open')
  clock.t = 1500
  t.ok(breaker.allows(), 'past openUntil a trial may go')
  t.ok(breaker.allows())
  t.equal(events.length, 1, 'allows() fired no transition')
  breaker.onDispatch()
  t.equal(breaker.state, 'half-open', 'the dispatch applied the time rule')
  t.same(events, ['closed>open:consecutive-failures@open', 'open>half-open:open-timeout@half-open'])
  t.equal(breaker.snapshot().openUntil, 0)
})

t.test('reads are pure: state and snapshot() of an open breaker past openUntil stay open (issue 13)', async (t) => {
  const { breaker, clock, events, outcomes } = setup({ consecutiveFailures: 1 })
  outcomes(F)
  clock.t = 5000 // well past openUntil (1000)
  const reads: unknown[] = []
  for (let i = 0; i < 100; i++) reads.push([breaker.state, breaker.snapshot(), breaker.allows()])
  const open = ['open', { state: 'open', failures: 1, total: 1, openUntil: 1000 }, true]
  t.same(reads, Array.from({ length: 100 }, () => open), 'a hundred reads: open, with its openUntil; allows() says a trial may go')
  t.same(events, ['closed>open:consecutive-failures@open'], 'no read fired a transition')
  breaker.abandon()
  t.equal(breaker.state, 'open', 'abandon() (no verdict) does not apply the time rule either')
  breaker.onDispatch()
  t.equal(breaker.state, 'half-open', 'a dispatch, the request path, applies it')
  t.same(events, ['closed>open:consecutive-failures@open', 'open>half-open:open-timeout@half-open'])
})

t.test('half-open lets halfOpenRequests trials start; all passing closes it', async (t) => {
  const { breaker, clock, events, outcomes } = setup({ consecutiveFailures: 1 })
  outcomes(F)
  clock.t = 1000
  t.ok(breaker.allows())
  breaker.onDispatch()
  t.ok(breaker.allows())
  breaker.onDispatch()
  t.notOk(breaker.allows(), 'both trial slots are taken')
  breaker.record(T)
  t.equal(breaker.state, 'half-open')
  t.notOk(breaker.allows(), 'a settled trial does not free its slot: the limit is per half-open period')
  breaker.record(T)
  t.equal(breaker.state, 'closed')
  t.ok(breaker.allows())
  t.same(events.slice(1), ['open>half-open:open-timeout@half-open', 'half-open>closed:trials-passed@closed'])
  t.same(breaker.snapshot(), { state: 'closed', failures: 0, total: 0, openUntil: 0 }, 'the window starts afresh')
})

t.test('a failed trial re-opens for twice as long, capped at maxOpenDuration; closing resets it', async (t) => {
  const { breaker, clock, events, outcomes, trial } = setup({ consecutiveFailures: 1, halfOpenRequests: 1 })
  outcomes(F)
  const until: number[] = [breaker.snapshot().openUntil]
  for (let i = 0; i < 4; i++) {
    clock.t = until.at(-1)!
    trial(F)
    until.push(breaker.snapshot().openUntil)
  }
  // open for 1000, 2000, 4000, then 5000 (8000 capped) twice
  t.same(until, [1000, 3000, 7000, 12000, 17000])
  t.equal(events.filter((e) => e.endsWith('trial-failed@open')).length, 4)
  clock.t = 17_000
  trial(T)
  t.equal(breaker.state, 'closed')
  outcomes(F)
  t.equal(breaker.snapshot().openUntil, 17_000 + 1000, 'after closing, the next trip is openDuration again')
})

t.test('the rolling window forgets old outcomes', async (t) => {
  const { breaker, clock, outcomes } = setup()
  outcomes(F, F, F, F)
  clock.t = 5000
  outcomes(F, F, F, F)
  clock.t = 9999
  t.match(breaker.snapshot(), { failures: 8, total: 8 })
  clock.t = 10_000 // the first four are a full window old
  t.match(breaker.snapshot(), { failures: 4, total: 4 })
  outcomes(T, T, T, T, T, T) // 4 of 10: 40 %, where 8 of 14 would have tripped it
  t.equal(breaker.state, 'closed')
  clock.t = 100_000
  t.match(breaker.snapshot(), { failures: 0, total: 0 })
})

t.test('outcomes while open, and stray ones in half-open, do not change the state', async (t) => {
  const { breaker, clock, events, outcomes } = setup({ consecutiveFailures: 1 })
  outcomes(F)
  outcomes(F, T, T, T)
  t.equal(breaker.state, 'open')
  clock.t = 1000
  outcomes(T, T, F) // no trial was dispatched: these are late answers from before the trip
  t.equal(breaker.state, 'half-open')
  t.equal(events.length, 2)
})

t.test('reset() closes from any state, announcing it once', async (t) => {
  const { breaker, events, outcomes } = setup({ consecutiveFailures: 2 })
  outcomes(F)
  breaker.reset()
  t.same(events, [], 'resetting a closed breaker is no state change')
  outcomes(F)
  t.equal(breaker.state, 'closed', 'reset cleared the consecutive count')
  outcomes(F)
  breaker.reset()
  t.same(events, ['closed>open:consecutive-failures@open', 'open>closed:reset@closed'])
  t.same(breaker.snapshot(), { state: 'closed', failures: 0, total: 0, openUntil: 0 })
})

t.test('halfOpenRequests 0 still lets one trial through; onChange is optional', async (t) => {
  const clock = { t: 0 }
  const breaker = new CircuitBreaker({ ...base, consecutiveFailures: 1, halfOpenRequests: 0 }, { now: () => clock.t })
  breaker.record(F)
  clock.t = 1000
  breaker.onDispatch()
  t.notOk(breaker.allows())
  breaker.record(T)
  t.equal(breaker.state, 'closed')
  breaker.onDispatch() // closed: no trial bookkeeping
  t.ok(breaker.allows())
})
