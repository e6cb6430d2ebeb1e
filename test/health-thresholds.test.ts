import t from 'tap'
import { once } from 'node:events'
import { HealthChecker, type HealthState, type ProbeEvent, type TransitionEvent } from '../lib/health/checker.js'
import type { ProbeResult } from '../lib/health/probes.js'
import type { ActiveHealthConfig } from '../lib/config/types.js'
import { FakeClock } from './helpers/fake-clock.js'

/** Thresholds 2 (to turn healthy) and 3 (to turn unhealthy); no jitter, so timing is plain. */
function config (over: Partial<ActiveHealthConfig> = {}): ActiveHealthConfig {
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
    backoff: { initial: 2000, max: 16_000, multiplier: 2, jitter: 0 },
    ...over
  }
}

const PASS: ProbeResult = { ok: true, ms: 3 }
const FAIL: ProbeResult = { ok: false, ms: 4, reason: 'status 503' }

/**
 * A checker over one backend 'a' whose probe answers `script` in order, plus recording
 * listeners. step() fires the next probe and resolves with its 'probe' event.
 */
function setup (script: ProbeResult[], over: Partial<ActiveHealthConfig> = {}): {
  checker: HealthChecker, probes: ProbeEvent[], transitions: TransitionEvent[], step: () => Promise<HealthState | undefined>
} {
  const clock = new FakeClock()
  const probe = async (): Promise<ProbeResult> => {
    const r = script.shift()
    if (r === undefined) throw new Error('script exhausted')
    return r
  }
  const checker = new HealthChecker(config(over), probe, { clock, random: () => 0.5 })
  const probes: ProbeEvent[] = []
  const transitions: TransitionEvent[] = []
  checker.on('probe', (e) => probes.push(e))
  checker.on('transition', (e) => transitions.push(e))
  checker.add({ id: 'a', url: 'http://127.0.0.1:1' })
  checker.start()
  const step = async (): Promise<HealthState | undefined> => {
    const seen = once(checker, 'probe')
    clock.runNext()
    await seen
    return checker.state('a')
  }
  return { checker, probes, transitions, step }
}

t.test('healthy → unhealthy after 3 failures in a row, back after 2 passes; broken runs do not flip', async (t) => {
  // F F P F F F P F P P: the P at 3 breaks the first run of failures, the F at 8 the run of passes.
  const F = FAIL
  const P = PASS
  const { checker, transitions, step } = setup([F, F, P, F, F, F, P, F, P, P])
  t.equal(checker.state('a'), 'healthy', 'initialState before any probe')
  const states: Array<HealthState | undefined> = []
  for (let i = 0; i < 10; i++) states.push(await step())
  t.same(states, ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'unhealthy', 'unhealthy', 'unhealthy', 'unhealthy', 'healthy'])
  t.same(transitions, [
    { backend: 'a', from: 'healthy', to: 'unhealthy', reason: 'status 503' },
    { backend: 'a', from: 'unhealthy', to: 'healthy', reason: 'passed' }
  ], 'one event per flip, with the last probe\'s failure reason or "passed"')
  checker.stop()
})

t.test('every probe is reported, with a reason only on failures', async (t) => {
  const { checker, probes, step } = setup([PASS, FAIL])
  await step()
  await step()
  t.same(probes, [{ backend: 'a', ok: true, ms: 3 }, { backend: 'a', ok: false, ms: 4, reason: 'status 503' }])
  t.notOk('reason' in probes[0]!, 'a pass carries no reason key')
  checker.stop()
})

t.test('initialState unhealthy waits for healthyThreshold passing probes', async (t) => {
  const { checker, transitions, step } = setup([PASS, PASS], { initialState: 'unhealthy' })
  t.equal(checker.state('a'), 'unhealthy')
  t.equal(await step(), 'unhealthy', 'one pass is not enough')
  t.same(transitions, [])
  t.equal(await step(), 'healthy')
  t.same(transitions, [{ backend: 'a', from: 'unhealthy', to: 'healthy', reason: 'passed' }])
  checker.stop()
})

t.test('the count restarts after a flip: the first failures after recovering do not flip back', async (t) => {
  const { checker, transitions, step } = setup([FAIL, PASS, PASS, FAIL], { initialState: 'healthy', unhealthyThreshold: 1 })
  t.equal(await step(), 'unhealthy', 'threshold 1: the first failure flips')
  await step()
  t.equal(await step(), 'healthy')
  t.equal(await step(), 'unhealthy')
  t.same(transitions.map((x) => x.to), ['unhealthy', 'healthy', 'unhealthy'])
  checker.stop()
})

t.test('backends are counted separately', async (t) => {
  const clock = new FakeClock()
  const answers: Record<string, ProbeResult> = { a: FAIL, b: PASS }
  const checker = new HealthChecker(config({
    unhealthyThreshold: 2,
    backoff: { initial: 1000, max: 1000, multiplier: 1, jitter: 0 } // keeps a and b in lockstep
  }), async (target) => answers[target.id]!, { clock, random: () => 0.5 })
  checker.add({ id: 'a', url: 'http://127.0.0.1:1' })
  checker.add({ id: 'b', url: 'http://127.0.0.1:2' })
  checker.start()
  for (let i = 0; i < 4; i++) {
    // Both are due at the same moment each round, so wait for two events.
    const both = new Promise<void>((resolve) => {
      let n = 0
      const on = (): void => { if (++n === 2) { checker.off('probe', on); resolve() } }
      checker.on('probe', on)
    })
    clock.runNext()
    await both
  }
  t.equal(checker.state('a'), 'unhealthy')
  t.equal(checker.state('b'), 'healthy')
  t.equal(checker.state('nope'), undefined, 'unknown id')
  checker.stop()
})

t.test('a probe that throws counts as an "error" failure and probing goes on', async (t) => {
  const clock = new FakeClock()
  const probe = async (): Promise<ProbeResult> => { throw new Error('bug') }
  const checker = new HealthChecker(config({ unhealthyThreshold: 1 }), probe, { clock, random: () => 0 })
  const seen = once(checker, 'transition')
  checker.add({ id: 'a', url: 'http://127.0.0.1:1' })
  checker.start()
  clock.runNext()
  const [ev] = await seen
  t.same(ev, { backend: 'a', from: 'healthy', to: 'unhealthy', reason: 'error' })
  t.equal(clock.pending, 1, 'the next probe is scheduled')
  checker.stop()
})
