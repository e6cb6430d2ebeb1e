/**
 * A discrete-event simulation of one algorithm over a Scenario: virtual time, no sockets.
 *
 * The simulator plays the pool's part exactly: update() once with every backend, pick() per
 * request with a `usable` that accepts every backend, inFlight counted from dispatch until the
 * answer or the timeout, and observe() with the latency and the in-flight count at dispatch.
 * The algorithm's deps.now is the virtual clock and deps.random a seeded stream.
 *
 * Common random numbers: arrival times, keys and each request's service-time noise come from
 * streams that do not depend on the algorithm, so every algorithm faces the same workload and
 * only its choices differ.
 */
import type { Algorithm, AlgorithmDefinition, SelectableBackend } from '../../algorithms/types.js'
import { EventQueue, type SimEvent } from './event-queue.js'
import { exponential, normal, stream } from './random.js'
import type { Scenario, ServerSpec } from './scenario.js'

/** A simulated backend: the gateway's view (id, weight, inFlight) plus the server behind it. */
class SimServer implements SelectableBackend {
  readonly id: string
  readonly weight = 1
  /** Gateway view: dispatched and not yet answered or timed out. */
  inFlight = 0
  /** Server view: workers busy, and requests waiting (cancelled ones are skipped). */
  busy = 0
  queue: Req[] = []
  head = 0

  constructor (readonly spec: ServerSpec, readonly index: number) {
    this.id = spec.id
  }
}

interface Req {
  n: number
  arrival: number
  /** Standard normal noise of this request's service time. */
  z: number
  server: SimServer
  inFlightAtDispatch: number
  /** Answered or timed out: the gateway is done with it. */
  settled: boolean
}

const ARRIVAL = 0
const COMPLETION = 1
const TIMEOUT = 2

interface Ev extends SimEvent {
  kind: number
  req: Req | undefined
}

/** Per request, in arrival order. Failed requests carry the timeout as their latency. */
export interface SimResult {
  servers: string[]
  arrival: number[]
  latency: number[]
  ok: boolean[]
  server: number[]
}

export function simulate (
  definition: AlgorithmDefinition<any>, options: unknown, scenario: Scenario, seed: number // eslint-disable-line @typescript-eslint/no-explicit-any
): SimResult {
  const arrivals = stream(seed, 0)
  const noise = stream(seed, 1)
  const keys = stream(seed, 2)
  let now = 0
  const algo: Algorithm<SimServer> = definition.create<SimServer>(options, { random: stream(seed, 3), now: () => now })
  const servers = scenario.servers.map((s, i) => new SimServer(s, i))
  algo.update(servers)
  const { durationMs, timeoutMs, sigma } = scenario
  const meanGap = 1000 / scenario.ratePerSec
  const res: SimResult = { servers: servers.map((s) => s.id), arrival: [], latency: [], ok: [], server: [] }
  const q = new EventQueue<Ev>()
  const all = (): boolean => true

  const start = (s: SimServer, r: Req): void => {
    s.busy++
    const mean = s.spec.meanMs(now, durationMs)
    const service = Math.exp(Math.log(mean) - sigma * sigma / 2 + sigma * r.z)
    q.push({ time: now + service, seq: 0, kind: COMPLETION, req: r })
  }
  const settle = (r: Req, ok: boolean): void => {
    r.settled = true
    const latency = now - r.arrival
    res.latency[r.n] = latency
    res.ok[r.n] = ok
    r.server.inFlight--
    algo.observe?.(r.server, { ok, latencyMs: latency, inFlight: r.inFlightAtDispatch })
  }

  q.push({ time: exponential(arrivals, meanGap), seq: 0, kind: ARRIVAL, req: undefined })
  for (let e = q.pop(); e !== undefined; e = q.pop()) {
    now = e.time
    if (e.kind === ARRIVAL) {
      if (now >= durationMs) continue
      q.push({ time: now + exponential(arrivals, meanGap), seq: 0, kind: ARRIVAL, req: undefined })
      const n = res.arrival.length
      const key = (keys() * 0x100000000 >>> 0).toString(36)
      const s = algo.pick({ attempt: 0, key }, all)
      if (s === undefined) throw new Error('pick returned undefined although every backend is usable')
      s.inFlight++
      const r: Req = { n, arrival: now, z: normal(noise), server: s, inFlightAtDispatch: s.inFlight, settled: false }
      res.arrival.push(now)
      res.server.push(s.index)
      res.latency.push(NaN)
      res.ok.push(false)
      if (s.busy < s.spec.slots) start(s, r)
      else s.queue.push(r)
      q.push({ time: now + timeoutMs, seq: 0, kind: TIMEOUT, req: r })
    } else if (e.kind === COMPLETION) {
      const r = e.req!
      const s = r.server
      s.busy--
      if (!r.settled) settle(r, true)
      // Next waiting request that the client has not given up on.
      while (s.head < s.queue.length) {
        const next = s.queue[s.head++]!
        if (!next.settled) {
          start(s, next)
          break
        }
      }
      if (s.head > 1024 && s.head * 2 > s.queue.length) {
        s.queue = s.queue.slice(s.head)
        s.head = 0
      }
    } else if (!e.req!.settled) {
      settle(e.req!, false)
    }
  }
  return res
}
