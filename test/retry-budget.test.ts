// Retry budget: retries over the window stay under percent% of requests, with a minRetries floor.
import t from 'tap'
import { RetryBudget } from '../lib/resilience/retry-budget.js'

function setup (percent: number, minRetries: number, window = 10_000, start = 0) {
  const clock = { t: start }
  const budget = new RetryBudget({ percent, minRetries, window }, { now: () => clock.t })
  const requests = (n: number) => { for (let i = 0; i < n; i++) budget.recordRequest() }
  const acquire = (n: number) => { let got = 0; for (let i = 0; i < n; i++) if (budget.tryAcquire()) got++; return got }
  return { clock, budget, requests, acquire }
}

t.test('20 % of 100 requests allows exactly 20 retries, then refuses', async (t) => {
  const { budget, requests, acquire } = setup(20, 0)
  requests(100)
  t.equal(acquire(20), 20)
  t.notOk(budget.tryAcquire())
  t.notOk(budget.tryAcquire())
  t.same(budget.snapshot(), { requests: 100, retries: 20, allowed: 20 }, 'refused tries take nothing')
  requests(5)
  t.ok(budget.tryAcquire(), 'more traffic, more budget: 20 % of 105 is 21')
  t.notOk(budget.tryAcquire())
})

t.test('the share rounds down, never granting more than percent %', async (t) => {
  const { requests, acquire } = setup(20, 0)
  requests(9) // 1.8 retries
  t.equal(acquire(5), 1)
})

t.test('minRetries is the floor when traffic is low', async (t) => {
  const { budget, requests, acquire } = setup(20, 3)
  t.equal(acquire(10), 3, 'with no requests at all')
  t.same(budget.snapshot(), { requests: 0, retries: 3, allowed: 3 })
  requests(20) // 20 % of 20 = 4 > 3
  t.equal(acquire(10), 1)
})

t.test('the window expiring restores the budget', async (t) => {
  const { budget, clock, requests, acquire } = setup(20, 2)
  requests(50)
  t.equal(acquire(20), 10)
  clock.t = 5000
  requests(50)
  t.equal(acquire(20), 10, 'the second half-window adds its own 20 %')
  clock.t = 10_000 // the first 50 requests and 10 retries are a full window old
  t.same(budget.snapshot(), { requests: 50, retries: 10, allowed: 10 })
  t.notOk(budget.tryAcquire())
  clock.t = 15_000
  t.same(budget.snapshot(), { requests: 0, retries: 0, allowed: 2 })
  t.equal(acquire(5), 2)
})

t.test('the window works the same for a clock whose origin lies below 0', async (t) => {
  const { budget, clock, requests, acquire } = setup(10, 0, 10_000, -25_000)
  requests(100)
  clock.t = -20_500 // slots of negative times wrap like the others
  t.equal(acquire(20), 10)
  clock.t = -15_000 // the requests are a window old, the retries only 5.5 s
  t.same(budget.snapshot(), { requests: 0, retries: 10, allowed: 0 })
  clock.t = -10_500
  t.same(budget.snapshot(), { requests: 0, retries: 0, allowed: 0 })
})
