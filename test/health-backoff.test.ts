import t from 'tap'
import { once } from 'node:events'
import { HealthChecker, type ProbeEvent } from '../lib/health/checker.js'
import type { ProbeResult, ProbeTarget } from '../lib/health/probes.js'
import type { ActiveHealthConfig } from '../lib/config/types.js'
import { FakeClock } from './helpers/fake-clock.js'
import { seededRandom } from './helpers/seeded-random.js'

/** interval 1000, timeout 500; backoff 2000 ×2 up to 16000; thresholds 2 up, 3 down. */
function config (jitter = 0, over: Partial<ActiveHealthConfig> = {}): ActiveHealthConfig {
  return {
    type: 'http',
    service: '',
    method: 'GET',
    path: '/health',
    headers: {},
    expectStatus: [[200, 399]],
    interval: 1000,
    timeout: 500,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    initialState: 'healthy',
    shared: false,
    backoff: { initial: 2000, max: 16_000, multiplier: 2, jitter },
    ...over
  }
}

const PASS: ProbeResult = { ok: true, ms: 1 }
const FAIL: ProbeResult = { ok: false, ms: 1, reason: 'connect' }
type Step = ProbeResult | 'hang'

/**
 * A checker over backend 'a' with a scripted probe (PASS once the script runs out). 'hang' does
 * not answer until its signal aborts, and then claims success, which the checker must overrule.
 * The probe records each call's start (clock time), its signal and promise, and the most probes
 * in flight at once; every 'probe' event is recorded too.
 */
function setup (script: Step[], cfg: ActiveHealthConfig, random: () => number = () => 0.5) {
  const clock = new FakeClock()
  const starts: number[] = []
  const signals: AbortSignal[] = []
  const calls: Array<Promise<ProbeResult>> = []
  const events: ProbeEvent[] = []
  const rec = { inFlight: 0, maxInFlight: 0 }
  const run = async (signal: AbortSignal): Promise<ProbeResult> => {
    const step = script.shift() ?? PASS
    if (step !== 'hang') return step
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
    return PASS
  }
  const probe = (_target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> => {
    starts.push(clock.now())
    signals.push(signal)
    rec.maxInFlight = Math.max(rec.maxInFlight, ++rec.inFlight)
    const p = run(signal).finally(() => { rec.inFlight-- })
    calls.push(p)
    return p
  }
  const checker = new HealthChecker(cfg, probe, { clock, random })
  checker.on('probe', (e) => events.push(e))
  checker.add({ id: 'a', url: 'http://127.0.0.1:1' })
  checker.start()
  /** Fires the next timer and waits for the probe it starts to be reported. */
  const step = async (): Promise<void> => {
    const seen = once(checker, 'probe')
    clock.runNext()
    await seen
  }
  /** Gaps between successive probe starts. */
  const gaps = (): number[] => starts.slice(1).map((s, i) => s - starts[i]!)
  return { clock, checker, starts, signals, calls, events, rec, step, gaps }
}

t.test('first probes come a random fraction of the interval after start, in [0, interval)', async (t) => {
  const one = setup([], config(), () => 0.25)
  t.same(one.clock.dueTimes(), [250])
  one.checker.stop()

  const many = setup([], config(), seededRandom(7))
  for (let i = 0; i < 99; i++) many.checker.add({ id: `b${i}`, url: 'http://127.0.0.1:1' })
  const due = many.clock.dueTimes()
  t.equal(due.length, 100, 'add() while running schedules at once')
  t.ok(due.every((d) => d >= 0 && d < 1000), 'all within [0, interval)')
  t.ok(due[0]! < 100 && due[99]! > 900, 'and spread over it, not in lockstep')
  many.checker.stop()
})

t.test('an unhealthy backend backs off ×2 from 2000 up to the 16000 cap; a pass resets it', async (t) => {
  // F F F: healthy → unhealthy on the third; then F×5, P (normal interval), F (backoff restarts).
  const F = FAIL
  const { checker, step, gaps } = setup([F, F, F, F, F, F, F, F, PASS, F], config())
  for (let i = 0; i < 11; i++) await step()
  t.same(gaps(), [1000, 1000, 2000, 4000, 8000, 16_000, 16_000, 16_000, 1000, 2000])
  checker.stop()
})

t.test('healthy intervals are jittered within ±jitter', async (t) => {
  const { checker, step, gaps } = setup([], config(0.2), seededRandom(1))
  for (let i = 0; i < 200; i++) await step()
  const g = gaps()
  t.ok(g.every((x) => x >= 800 && x <= 1200), 'every gap in 1000 ± 20%')
  t.ok(Math.min(...g) < 820 && Math.max(...g) > 1180, 'and the whole band is used')
  checker.stop()

  const low = setup([], config(0.2), () => 0)
  await low.step()
  await low.step()
  t.same(low.gaps(), [800], 'random 0: the low edge exactly')
  low.checker.stop()
})

t.test('backoff delays are jittered within ±jitter of each step, after the cap', async (t) => {
  const script = Array.from({ length: 40 }, () => FAIL)
  const { checker, step, gaps } = setup(script, config(0.25, { initialState: 'unhealthy' }), seededRandom(3))
  for (let i = 0; i < 40; i++) await step()
  gaps().forEach((g, k) => {
    const base = Math.min(2000 * 2 ** k, 16_000)
    if (g < base * 0.75 || g > base * 1.25) t.fail(`gap ${k} is ${g}, outside ${base} ± 25%`)
  })
  t.ok(gaps().slice(4).some((g) => g > 16_000), 'jitter may take a capped delay above max')
  checker.stop()
})

t.test('probes of a backend never overlap: one that hangs until the timeout delays the next', async (t) => {
  const { clock, checker, starts, signals, events, rec } = setup(['hang'], config())
  clock.runNext()
  t.same(starts, [500], 'first probe at 500 (random 0.5)')
  clock.advance(499)
  t.equal(starts.length, 1, 'no second probe while the first is in flight')
  t.notOk(signals[0]!.aborted)
  const seen = once(checker, 'probe')
  clock.advance(1)
  await seen
  t.ok(signals[0]!.aborted, 'aborted through its signal at the timeout')
  t.same(events, [{ backend: 'a', ok: false, ms: 500, reason: 'timeout' }], 'a timeout even though it said ok afterwards')
  t.same(clock.dueTimes(), [2000], 'next probe an interval after the timed-out one ended')
  t.equal(rec.maxInFlight, 1)
  checker.stop()
})

t.test('stop() aborts a probe in flight, drops its result and leaves no timer; start() resumes', async (t) => {
  const { clock, checker, signals, calls, events } = setup(['hang'], config())
  clock.runNext()
  t.equal(clock.pending, 1, 'the probe deadline')
  checker.stop()
  t.equal(clock.pending, 0, 'no timers after stop()')
  t.ok(signals[0]!.aborted)
  await calls[0] // the checker awaited this first, so it has seen the result by now
  t.same(events, [], 'the aborted probe is not reported')
  t.equal(clock.pending, 0, 'and schedules nothing')
  t.equal(checker.state('a'), 'healthy', 'state is kept')
  checker.start()
  checker.start()
  t.equal(clock.pending, 1, 'start() schedules each backend once, also when called twice')
  checker.stop()
  t.equal(clock.pending, 0)
})

t.test('remove() clears the timer or aborts the probe of that backend only', async (t) => {
  const { clock, checker, signals, calls, events } = setup(['hang'], config())
  checker.add({ id: 'b', url: 'http://127.0.0.1:2' })
  t.equal(clock.pending, 2)
  t.ok(checker.remove('b'))
  t.equal(clock.pending, 1, 'b\'s timer is gone')
  t.equal(checker.state('b'), undefined)
  t.notOk(checker.remove('b'), 'false for an unknown id')
  clock.runNext()
  t.ok(checker.remove('a'))
  t.ok(signals[0]!.aborted, 'a\'s probe in flight is aborted')
  t.equal(clock.pending, 0, 'no timers left')
  await calls[0]
  t.same(events, [])
  t.equal(clock.pending, 0)
})

t.test('an id can be checked once at a time', async (t) => {
  const { checker } = setup([], config())
  t.throws(() => { checker.add({ id: 'a', url: 'http://127.0.0.1:9' }) }, /already checked/)
  checker.stop()
})
