// Random algorithms through the real gateway: shares over 300 sequential requests, and p2c
// steering away from a slow backend under concurrency. The gateway's pools draw from a seeded
// source (helpers/seeded-random.ts), so a run is reproducible and a band failure reproduces.
// The bands are still wide, about 5 standard deviations of the binomial count: they say what a
// correct gateway does with any fair source, not what this seed happens to give (the exact
// algorithm checks live in algorithm-random.test.ts and algorithm-p2c.test.ts).
import t, { type Test } from 'tap'
import { nameHandler, send, startBackend, startGateway, type TestBackend } from './helpers/gateway.js'
import { seededRandom } from './helpers/seeded-random.js'

const N = 300

/** YAML for pool "web" with the given algorithm and optional weights (one per backend). */
function yaml (algorithm: string, backends: TestBackend[], weights?: number[]): string {
  const lines = backends.map((b, i) => `      - { url: ${b.url}${weights === undefined ? '' : `, weight: ${weights[i]!}`} }`)
  return ['pools:', '  web:', `    algorithm: ${algorithm}`, '    backends:', ...lines, ''].join('\n')
}

async function threeBackends (t: Test): Promise<TestBackend[]> {
  return [await startBackend(t, 'b1'), await startBackend(t, 'b2'), await startBackend(t, 'b3')]
}

/** Sends `total` requests with at most `width` in flight; throws on any answer but 200. */
async function load (url: string, total: number, width: number): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++
      const r = await send(url + '/')
      if (r.status !== 200) throw new Error(`status ${r.status}: ${r.text}`)
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
}

/** Checks each backend's share of N sequential requests is within [lo, hi]. */
function checkShares (t: Test, backends: TestBackend[], bands: Array<[number, number]>): void {
  const counts = backends.map((b) => b.seen.length)
  t.equal(counts.reduce((x, y) => x + y, 0), N, 'every request reached a backend')
  t.comment(`counts: ${counts.join(', ')}`)
  backends.forEach((b, i) => {
    const [lo, hi] = bands[i]!
    const share = counts[i]! / N
    t.ok(share >= lo && share <= hi, `${b.name}: ${(share * 100).toFixed(1)}% within ${lo * 100}%..${hi * 100}%`)
  })
}

// Uniform over 3: expected 100 of 300 (33%), σ ≈ 8.2 requests; 20%..47% is 60..140.
const EVEN: Array<[number, number]> = [[0.2, 0.47], [0.2, 0.47], [0.2, 0.47]]

t.test('random: 300 requests spread evenly over 3 backends', async (t) => {
  const backends = await threeBackends(t)
  const gw = await startGateway(t, yaml('random', backends), {}, undefined, { random: seededRandom(1) })
  await load(gw.url, N, 1)
  checkShares(t, backends, EVEN)
})

t.test('weighted-random: weights 1, 1, 2 give the heavy backend about half', async (t) => {
  const backends = await threeBackends(t)
  const gw = await startGateway(t, yaml('weighted-random', backends, [1, 1, 2]), {}, undefined, { random: seededRandom(2) })
  await load(gw.url, N, 1)
  // Expected 25%, 25%, 50% (75, 75, 150; σ ≈ 7.5, 7.5, 8.7 requests).
  checkShares(t, backends, [[0.12, 0.38], [0.12, 0.38], [0.35, 0.65]])
})

t.test('p2c: sequential requests (every pair tied at 0 in flight) spread evenly', async (t) => {
  const backends = await threeBackends(t)
  const gw = await startGateway(t, yaml('p2c', backends), {}, undefined, { random: seededRandom(3) })
  await load(gw.url, N, 1)
  checkShares(t, backends, EVEN)
})

t.test('p2c: a slow backend holds its requests longer and is given fewer', async (t) => {
  // b1 answers after 300 ms, so its requests stay in flight while the fast ones turn over: it
  // loses every pair against a backend with fewer in flight.
  const slow = await startBackend(t, 'b1', (req, res, body) => { setTimeout(() => nameHandler('b1')(req, res, body), 300) })
  const fast = [await startBackend(t, 'b2'), await startBackend(t, 'b3')]
  const gw = await startGateway(t, yaml('p2c', [slow, ...fast]), {}, undefined, { random: seededRandom(4) })
  await load(gw.url, 60, 6)
  const counts = [slow, ...fast].map((b) => b.seen.length)
  t.comment(`counts: ${counts.join(', ')}`)
  t.equal(counts.reduce((x, y) => x + y, 0), 60)
  t.ok(counts[0]! < counts[1]! && counts[0]! < counts[2]!, `slow b1 (${counts[0]!}) got fewer than b2 (${counts[1]!}) and b3 (${counts[2]!})`)
  t.same(gw.app.pools.get('web')!.snapshot().map((b) => b.inFlight), [0, 0, 0], 'no in-flight count leaked')
})
