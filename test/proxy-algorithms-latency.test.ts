// Latency-aware algorithms (least-response-time, adaptive) through the real gateway: a backend
// answering after 150 ms gets clearly less traffic than two that answer at once, and once it is
// fast again it is trusted again and gets a share back. Real timers drive both: the proxy
// measures latency with performance.now() (lib/proxy/attempt.ts), not the pool's clock, so a
// fake clock could not stand in; the assertions are on shares, never on timings. The candidate
// draws come from a seeded source.
import t from 'tap'
import http from 'node:http'
import { nameHandler, startBackend, startGateway, type TestBackend } from './helpers/gateway.js'
import { seededRandom } from './helpers/seeded-random.js'

const SLOW_MS = 150
/** Upper bound on the recovery phase; it normally ends within a few seconds. */
const RECOVERY_LIMIT_MS = 20_000
const ROUND = 40
const WIDTH = 4

/**
 * Sends `total` GETs with at most `width` in flight over keep-alive connections; throws on any
 * answer but 200. The recovery phase sends thousands of requests, and a fresh connection each
 * (the helpers' send()) would leave as many sockets in TIME_WAIT while other files run.
 */
async function load (url: string, agent: http.Agent, total: number, width: number): Promise<void> {
  let next = 0
  const get = async (): Promise<void> => await new Promise((resolve, reject) => {
    http.get(url + '/', { agent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => { res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode!}: ${text}`)) })
      res.on('error', reject)
    }).on('error', reject)
  })
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++
      await get()
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
}

const ALGORITHMS = [
  // decay (the EWMA's time constant) is 10 s by default, which takes tens of seconds to trust a
  // recovered backend again (docs/algorithms.md); 2 s keeps the recovery phase short.
  { name: 'least-response-time', yaml: '{ name: least-response-time, decay: 2000 }' },
  { name: 'adaptive', yaml: 'adaptive' }
]

for (const algo of ALGORITHMS) {
  t.test(`${algo.name}: a slow backend gets little traffic, and a share again once it is fast`, async (t) => {
    let slowMs = SLOW_MS
    const slow = await startBackend(t, 'b1', (req, res, body) => {
      if (slowMs === 0) return nameHandler('b1')(req, res, body)
      setTimeout(() => nameHandler('b1')(req, res, body), slowMs)
    })
    const fast: TestBackend[] = [await startBackend(t, 'b2'), await startBackend(t, 'b3')]
    const all = [slow, ...fast]
    const gw = await startGateway(t, [
      'pools:',
      '  web:',
      `    algorithm: ${algo.yaml}`,
      '    backends:',
      ...all.map((b) => `      - url: ${b.url}`),
      ''
    ].join('\n'), {}, undefined, { random: seededRandom(5) })
    const counts = (): number[] => all.map((b) => b.seen.length)
    const agent = new http.Agent({ keepAlive: true, maxSockets: WIDTH })
    t.teardown(() => { agent.destroy() })

    await load(gw.url, agent, 120, WIDTH)
    const [s, f1, f2] = counts() as [number, number, number]
    t.comment(`slow phase, 120 requests: b1 (slow) ${s}, b2 ${f1}, b3 ${f2}`)
    t.equal(s + f1 + f2, 120)
    t.ok(s < (f1 + f2) / 2 / 2, `slow b1 (${s}) gets under half of the fast average (${(f1 + f2) / 2})`)

    // b1 is fast from now on. Send rounds of load until a round gives b1 at least a sixth (half
    // of a fair third), or the time limit passes.
    slowMs = 0
    const started = Date.now()
    let rounds = 0
    let share = 0
    while (Date.now() - started < RECOVERY_LIMIT_MS) {
      const before = counts()
      await load(gw.url, agent, ROUND, WIDTH)
      rounds++
      share = (counts()[0]! - before[0]!) / ROUND
      if (share >= 1 / 6) break
    }
    t.comment(`recovery: ${rounds} rounds of ${ROUND} in ${Date.now() - started} ms; b1 got ${(share * 100).toFixed(0)}% of the last round`)
    t.ok(share >= 1 / 6, `recovered b1 gets at least a sixth of a round (last round: ${(share * 100).toFixed(0)}%)`)
    t.same(gw.app.pools.get('web')!.snapshot().map((b) => b.inFlight), [0, 0, 0], 'no in-flight count leaked')
  })
}
