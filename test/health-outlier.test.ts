import t from 'tap'
import { OutlierDetector, type EjectEvent, type ReturnEvent } from '../lib/health/outlier.js'
import type { PassiveHealthConfig } from '../lib/config/types.js'
import { FakeClock } from './helpers/fake-clock.js'

/** 3 failures eject; 10 s × n, capped at 35 s; by default up to 100% of a pool of 10. */
function config (over: Partial<PassiveHealthConfig> = {}): PassiveHealthConfig {
  return {
    consecutiveFailures: 3,
    failureStatuses: [500, 502, 503, 504],
    baseEjectionTime: 10_000,
    maxEjectionTime: 35_000,
    maxEjectionPercent: 100,
    ...over
  }
}

/** A detector on a fake clock with recording listeners; fail(id) reports one 503. */
function setup (over: Partial<PassiveHealthConfig> = {}, poolSize = 10) {
  const clock = new FakeClock(1000)
  const detector = new OutlierDetector(config(over), { clock, poolSize: () => poolSize })
  const ejects: EjectEvent[] = []
  const returns: ReturnEvent[] = []
  detector.on('eject', (e) => ejects.push(e))
  detector.on('return', (e) => returns.push(e))
  const fail = (id: string, times = 1): void => {
    for (let i = 0; i < times; i++) detector.record(id, { ok: false, status: 503 })
  }
  return { clock, detector, ejects, returns, fail }
}

t.test('ejected after 3 consecutive failures: failure statuses and errors both count', async (t) => {
  const { detector, ejects } = setup()
  detector.record('a', { ok: true, status: 503 })
  detector.record('a', { ok: false, reason: 'connect' })
  detector.record('a', { ok: true, status: 404 }) // a status not listed is a success
  detector.record('a', { ok: true, status: 500 })
  detector.record('a', { ok: false, reason: 'reset' })
  t.notOk(detector.isEjected('a'), 'two failures since the 404')
  detector.record('a', { ok: false, reason: 'timeout' })
  t.ok(detector.isEjected('a'))
  t.same(ejects, [{ backend: 'a', until: 11_000, duration: 10_000, ejections: 1, reason: 'timeout' }])
})

t.test('the reason of a status failure without one is "status <code>", of a bare error "error"', async (t) => {
  const { detector, ejects, fail } = setup()
  fail('a', 3)
  detector.record('b', { ok: false })
  detector.record('b', { ok: false })
  detector.record('b', { ok: false, status: 0 }) // 0: no answer
  t.same(ejects.map((e) => e.reason), ['status 503', 'error'])
})

t.test('a success resets the consecutive count', async (t) => {
  const { detector, ejects, fail } = setup()
  fail('a', 2)
  detector.record('a', { ok: true, status: 200 })
  fail('a', 2)
  t.same(ejects, [], 'F F S F F: never 3 in a row')
  fail('a')
  t.equal(ejects.length, 1)
})

t.test('ejection time is base × n, capped at max; each return is reported and resets the count', async (t) => {
  const { clock, detector, ejects, returns, fail } = setup()
  for (let n = 1; n <= 5; n++) {
    fail('a', 3) // just after the return: no time for the count to decay
    const { duration } = ejects[n - 1]!
    clock.advance(duration - 1)
    t.ok(detector.isEjected('a'), `ejection ${n} lasts ${duration}`)
    fail('a', 3)
    t.equal(ejects.length, n, 'outcomes reported while ejected are ignored')
    clock.advance(1)
    t.notOk(detector.isEjected('a'))
    fail('a', 2)
    t.notOk(detector.isEjected('a'), 'the count starts again after a return')
    detector.record('a', { ok: true })
  }
  t.same(ejects.map((e) => e.duration), [10_000, 20_000, 30_000, 35_000, 35_000])
  t.same(returns, [1, 2, 3, 4, 5].map((n) => ({ backend: 'a', ejections: n })))
})

t.test('maxEjectionPercent: 34% of 3 backends ejects at most 1; the next goes once room exists', async (t) => {
  const { clock, detector, fail } = setup({ maxEjectionPercent: 34 }, 3)
  fail('a', 3)
  fail('b', 3)
  t.ok(detector.isEjected('a'))
  t.notOk(detector.isEjected('b'), 'floor(3 × 34%) = 1 already ejected')
  fail('b')
  t.notOk(detector.isEjected('b'), 'still no room; b keeps counting')
  clock.advance(10_000)
  t.notOk(detector.isEjected('a'), 'a is back')
  fail('b')
  t.ok(detector.isEjected('b'), 'the next failure of b ejects it: its count had kept going')
})

t.test('rounding: at least 1 when the percent is above 0, none at 0', async (t) => {
  const half = setup({ maxEjectionPercent: 50 }, 1)
  half.fail('a', 3)
  t.ok(half.detector.isEjected('a'), 'floor(0.5) = 0, but at least 1')
  const zero = setup({ maxEjectionPercent: 0 }, 10)
  zero.fail('a', 10)
  t.same(zero.ejects, [])
  const all = setup({ maxEjectionPercent: 100 }, 3)
  for (const id of ['a', 'b', 'c']) all.fail(id, 3)
  t.equal(all.ejects.length, 3, '100%: the whole pool')
})

t.test('the ejection count decays to 0 after maxEjectionTime without an ejection', async (t) => {
  const { clock, ejects, fail } = setup()
  fail('a', 3)
  clock.advance(10_000) // back at 11_000
  clock.advance(34_999)
  fail('a', 3)
  t.equal(ejects[1]!.ejections, 2, 'just under maxEjectionTime: the count goes on')
  clock.advance(20_000) // back
  clock.advance(35_000)
  fail('a', 3)
  t.match(ejects[2], { ejections: 1, duration: 10_000 }, 'a full maxEjectionTime: back to the base time')
})

t.test('remove() and stop() clear timers; a removed backend frees its slot and never returns', async (t) => {
  const { clock, detector, returns, fail } = setup({ maxEjectionPercent: 10 }, 10)
  fail('a', 3)
  fail('b', 3)
  t.notOk(detector.isEjected('b'), 'one slot, taken by a')
  t.equal(clock.pending, 1)
  t.ok(detector.remove('a'))
  t.notOk(detector.remove('a'), 'false for an unknown id')
  t.equal(clock.pending, 0)
  fail('b')
  t.ok(detector.isEjected('b'), 'the slot is free again')
  detector.stop()
  t.equal(clock.pending, 0, 'no timers after stop()')
  t.notOk(detector.isEjected('b'), 'stop() forgets every backend')
  clock.advance(100_000)
  t.same(returns, [])
})
