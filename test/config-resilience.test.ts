// Config validation of a pool's resilience sections (healthCheck, circuitBreaker, retry,
// panicThreshold): each mistake is reported at its exact path, and empty sections get defaults.
import t from 'tap'
import { ConfigError, loadConfigText } from '../lib/config/load.js'
import type { ConfigIssue } from '../lib/config/issues.js'

const POOLS = 'pools:\n  web:\n    backends:\n      - url: http://127.0.0.1:9001\n'

/** The issues of a config whose pool "web" has the given extra lines (4-space indented); [] if it loads. */
function issuesOf (poolExtra: string): ConfigIssue[] {
  try {
    loadConfigText(POOLS + poolExtra, { env: {} })
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
  return []
}

const load = (poolExtra: string) => loadConfigText(POOLS + poolExtra, { env: {} }).pools.web!

t.test('an unknown key under healthCheck.active is reported there, with a suggestion', async (t) => {
  t.same(issuesOf('    healthCheck: { active: { intervall: 1s } }\n'), [
    { path: 'pools.web.healthCheck.active.intervall', line: 5, message: 'unknown key; did you mean interval?' }
  ])
  t.same(issuesOf('    healthCheck: { actve: {} }\n').map((i) => i.path), ['pools.web.healthCheck.actve'])
})

t.test('active: a timeout longer than the interval is refused (probes never overlap)', async (t) => {
  t.same(issuesOf('    healthCheck: { active: { interval: 1s, timeout: 2s } }\n'), [
    { path: 'pools.web.healthCheck.active.timeout', line: 5, message: 'must not be longer than interval (probes of one backend never overlap)' }
  ])
  t.equal(load('    healthCheck: { active: { interval: 1s, timeout: 1s } }\n').healthCheck.active?.timeout, 1000, 'equal is fine')
})

t.test('active: backoff.max shorter than backoff.initial is refused', async (t) => {
  t.same(issuesOf('    healthCheck: { active: { backoff: { initial: 5s, max: 1s } } }\n'), [
    { path: 'pools.web.healthCheck.active.backoff.max', line: 5, message: 'must not be shorter than backoff.initial' }
  ])
})

t.test('active: expectStatus "600" is not a status; the message says what a status looks like', async (t) => {
  const expected = 'expected a status from 100 to 599 (e.g. 200), a range like "200-399", or a list of those'
  for (const [value, got] of [['"600"', 'the string "600"'], ['"200-600"', 'the string "200-600"'], ['[200, 600]', 'a list']]) {
    t.same(issuesOf(`    healthCheck: { active: { expectStatus: ${value} } }\n`), [
      { path: 'pools.web.healthCheck.active.expectStatus', line: 5, message: `${expected} (got ${got})` }
    ], `expectStatus: ${value}`)
  }
  t.same(load('    healthCheck: { active: { expectStatus: [204, "300-302"] } }\n').healthCheck.active?.expectStatus, [[204, 204], [300, 302]])
})

t.test('active: an inverted range ("399-200") matches no status and is refused', async (t) => {
  // Accepted, it would fail every probe and take every backend out.
  t.same(issuesOf('    healthCheck: { active: { expectStatus: "399-200" } }\n'), [
    { path: 'pools.web.healthCheck.active.expectStatus', line: 5, message: '"399-200" is an empty range; write the lower status first' }
  ])
  t.same(issuesOf('    healthCheck: { active: { expectStatus: ["200-299", "399-300"] } }\n').map((i) => i.path),
    ['pools.web.healthCheck.active.expectStatus[1]'], 'in a list, at the item')
})

t.test('passive: maxEjectionTime shorter than baseEjectionTime is refused', async (t) => {
  t.same(issuesOf('    healthCheck: { passive: { baseEjectionTime: 10s, maxEjectionTime: 1s } }\n'), [
    { path: 'pools.web.healthCheck.passive.maxEjectionTime', line: 5, message: 'must not be shorter than baseEjectionTime' }
  ])
})

t.test('circuitBreaker: failureRateThreshold 0 is refused, and the message gives the range', async (t) => {
  // The bounds tell the user why 0 is wrong ("expected a number" alone would not).
  t.same(issuesOf('    circuitBreaker: { failureRateThreshold: 0 }\n'), [
    { path: 'pools.web.circuitBreaker.failureRateThreshold', line: 5, message: 'expected a number from 1 to 100 (got the number 0)' }
  ])
  t.same(issuesOf('    circuitBreaker: { openDuration: 10s, maxOpenDuration: 1s }\n'), [
    { path: 'pools.web.circuitBreaker.maxOpenDuration', line: 5, message: 'must not be shorter than openDuration' }
  ])
})

t.test('retry: POST (or PATCH) in methods is refused', async (t) => {
  const message = 'POST and PATCH are not idempotent and are never retried; remove them'
  t.same(issuesOf('    retry: { methods: [GET, POST] }\n'), [{ path: 'pools.web.retry.methods', line: 5, message }])
  t.same(issuesOf('    retry: { methods: [patch] }\n'), [{ path: 'pools.web.retry.methods', line: 5, message }], 'in any case')
  t.same(load('    retry: { methods: [get, put] }\n').retry.methods, ['GET', 'PUT'], 'names are upper-cased')
})

t.test('retry: attempts 0 is refused (1 means no retries)', async (t) => {
  t.same(issuesOf('    retry: { attempts: 0 }\n'), [
    { path: 'pools.web.retry.attempts', line: 5, message: 'expected an integer from 1 to 10 (got the number 0)' }
  ])
  t.same(issuesOf('    retry: { backoff: { base: 1s, max: 10ms } }\n').map((i) => i.path), ['pools.web.retry.backoff.max'])
})

t.test('every issue of the sections is reported in one run', async (t) => {
  const issues = issuesOf(`    healthCheck:
      active: { interval: 1s, timeout: 2s }
      passive: { baseEjectionTime: 10s, maxEjectionTime: 1s }
    retry: { attempts: 0 }
    panicThreshold: 150
`)
  t.same(issues.map((i) => [i.path, i.line]), [
    ['pools.web.healthCheck.active.timeout', 6],
    ['pools.web.healthCheck.passive.maxEjectionTime', 7],
    ['pools.web.retry.attempts', 8],
    ['pools.web.panicThreshold', 9]
  ])
})

t.test('sections given empty are filled with the defaults', async (t) => {
  const pool = load('    healthCheck: { active: {}, passive: {} }\n    circuitBreaker: {}\n    retry: {}\n')
  t.same(pool.healthCheck.active, {
    type: 'http',
    service: '',
    method: 'GET',
    path: '/health',
    headers: {},
    expectStatus: [[200, 399]],
    interval: 5000,
    timeout: 2000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    initialState: 'healthy',
    shared: false,
    backoff: { initial: 1000, max: 30_000, multiplier: 2, jitter: 0.2 }
  })
  t.same(pool.healthCheck.passive, {
    consecutiveFailures: 5, failureStatuses: [502, 503, 504], baseEjectionTime: 30_000, maxEjectionTime: 300_000, maxEjectionPercent: 50
  })
  t.same(pool.circuitBreaker, {
    failureRateThreshold: 50,
    window: 10_000,
    minimumRequests: 20,
    consecutiveFailures: 0,
    openDuration: 5000,
    maxOpenDuration: 60_000,
    halfOpenRequests: 3,
    maxConnections: 0,
    maxPendingRequests: 0
  })
  t.same(pool.retry, {
    attempts: 2,
    perTryTimeout: 0,
    backoff: { base: 25, max: 250 },
    statuses: [502, 503, 504],
    methods: ['GET', 'HEAD', 'OPTIONS', 'TRACE'],
    maxReplayBody: 65_536,
    grpcStatuses: [],
    budget: { percent: 20, window: 10_000, minRetries: 10 }
  })
  t.equal(pool.panicThreshold, 0)
})

t.test('sections left out: no active checks, no ejection, no breaker; retries on', async (t) => {
  const pool = load('')
  t.same(pool.healthCheck, {})
  t.equal(pool.circuitBreaker, undefined)
  t.equal(pool.retry.attempts, 2)
  t.equal(pool.panicThreshold, 0)
})

t.test('durations are read in the sections (100ms, 1s)', async (t) => {
  const pool = load(`    healthCheck:
      active: { type: tcp, interval: 100ms, timeout: 80ms, backoff: { initial: 100ms, max: 1s } }
      passive: { baseEjectionTime: 300ms, maxEjectionTime: 1s }
    circuitBreaker: { openDuration: 300ms, window: 2s }
    retry: { perTryTimeout: 150ms, budget: { window: 1m } }
`)
  t.match(pool.healthCheck.active, { type: 'tcp', interval: 100, timeout: 80, backoff: { initial: 100, max: 1000 } })
  t.match(pool.healthCheck.passive, { baseEjectionTime: 300, maxEjectionTime: 1000 })
  t.match(pool.circuitBreaker, { openDuration: 300, window: 2000 })
  t.match(pool.retry, { perTryTimeout: 150, budget: { window: 60_000 } })
})
