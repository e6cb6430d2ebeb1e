// RateCounters (lib/traffic/rate-counters.ts): fixed windows, ms left, the memory bound.
import t from 'tap'
import { RateCounters } from '../lib/traffic/rate-counters.js'

function counter (): { c: RateCounters, clock: { now: number }, incr: (key: string, window: number) => { current: number, ttl: number } } {
  const clock = { now: 1000 }
  const c = new RateCounters(() => clock.now, 3)
  const incr = (key: string, window: number): { current: number, ttl: number } => {
    let out: { current: number, ttl: number } | undefined
    c.incr(key, (err, res) => { if (err !== null) throw err; out = res }, window)
    return out!
  }
  return { c, clock, incr }
}

t.test('counts in a fixed window that starts at the first request', async (t) => {
  const { clock, incr } = counter()
  t.same(incr('a', 100), { current: 1, ttl: 100 })
  clock.now += 40
  t.same(incr('a', 100), { current: 2, ttl: 60 }, 'same window: the count grows, ttl shrinks')
  clock.now += 60
  t.same(incr('a', 100), { current: 1, ttl: 100 }, 'the window ended: a new one starts')
})

t.test('keys are counted apart; past the bound the oldest window is dropped', async (t) => {
  const { c, clock, incr } = counter()
  incr('a', 1000); clock.now++
  incr('b', 1000); clock.now++
  incr('c', 1000); clock.now++
  incr('b', 1000)
  t.equal(c.size, 3)
  incr('d', 1000)
  t.equal(c.size, 3, 'bounded at the cap')
  t.equal(incr('a', 1000).current, 1, 'a (the oldest window) was dropped and starts again')
  t.equal(incr('c', 1000).current, 2, 'c kept its count')
  t.equal(incr('b', 1000).current, 1, 'b, then the oldest window, was dropped for a (a count in its window does not renew it)')
})

t.test('the store constructor hands every limiter the same counters', async (t) => {
  const { c } = counter()
  const Ctor = c.ctor
  t.equal(new Ctor(), c)
  t.equal(c.child(), c)
})
