// Deterministic algorithms through the real gateway: exact sequences of backends over sequential
// requests (weighted-round-robin, least-connections with a backend held busy, round-robin around
// a disabled backend). See docs/algorithms.md for each expected pattern.
import t from 'tap'
import type { ServerResponse } from 'node:http'
import { nameHandler, poolYaml, send, startBackend, startBackends, startGateway, type TestBackend } from './helpers/gateway.js'

const idOf = (b: TestBackend): string => `127.0.0.1:${b.port}`

/** `n` sequential requests; the name of the backend that answered each. */
async function sequence (url: string, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await send(url + '/')
    if (r.status !== 200) throw new Error(`request ${i + 1}: status ${r.status}: ${r.text}`)
    out.push(r.text)
  }
  return out
}

t.test('weighted-round-robin: weights 5, 1, 1 interleave as a a b a c a a', async (t) => {
  const [a, b, c] = [await startBackend(t, 'a'), await startBackend(t, 'b'), await startBackend(t, 'c')]
  const gw = await startGateway(t, [
    'pools:',
    '  web:',
    '    algorithm: weighted-round-robin',
    '    backends:',
    `      - { url: ${a.url}, weight: 5 }`,
    `      - { url: ${b.url}, weight: 1 }`,
    `      - { url: ${c.url}, weight: 1 }`,
    ''
  ].join('\n'))
  // Smooth WRR (nginx): credits after each pick, a/b/c, total 7 paid back by the winner:
  //   5 1 1 → a (-2 1 1) → a (3 2 2 → -4 2 2) → b (1 3 3 → 1 -4 3) → a (6 -3 4 → -1 -3 4)
  //   → c (4 -2 5 → 4 -2 -2) → a (9 -1 -1 → 2 -1 -1) → a (7 0 0 → 0 0 0), back to the start.
  t.same(await sequence(gw.url, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a'])
  t.same(await sequence(gw.url, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a'], 'the cycle repeats every Σweight = 7 picks')
  t.same([a, b, c].map((x) => x.seen.length), [10, 2, 2])
})

t.test('least-connections: a backend held busy is passed over, and ties among the idle rotate', async (t) => {
  // b1 holds requests to /hold until the test releases them; everything else answers at once.
  const held: ServerResponse[] = []
  let arrived!: () => void
  const holdArrived = new Promise<void>((resolve) => { arrived = resolve })
  const b1 = await startBackend(t, 'b1', (req, res, body) => {
    if (req.url === '/hold') {
      held.push(res)
      arrived()
      return
    }
    nameHandler('b1')(req, res, body)
  })
  const b2 = await startBackend(t, 'b2')
  const b3 = await startBackend(t, 'b3')
  const gw = await startGateway(t, poolYaml([b1, b2, b3], '', '    algorithm: least-connections\n'))
  const pool = gw.app.pools.get('web')!

  // All idle: the first pick is the first backend in list order.
  const slow = send(gw.url + '/hold')
  await holdArrived
  t.same(pool.snapshot().map((b) => b.inFlight), [1, 0, 0], 'b1 has the held request in flight')

  // b1 is busier than b2 and b3: they share every request, taking turns on the tie.
  t.same(await sequence(gw.url, 6), ['b2', 'b3', 'b2', 'b3', 'b2', 'b3'])
  t.equal(b1.seen.length, 1, 'b1 got only the held request')

  held[0]!.end('held done')
  const r = await slow
  t.equal(r.status, 200)
  t.equal(r.text, 'held done')
  t.same(pool.snapshot().map((b) => b.inFlight), [0, 0, 0], 'the held request released b1')

  // All idle again: the rotation carries on from after b3, so b1 is back in turn.
  t.same(await sequence(gw.url, 3), ['b1', 'b2', 'b3'])
})

t.test('round-robin: a disabled backend is skipped, and re-enabling it puts it back in turn', async (t) => {
  const backends = await startBackends(t, 3)
  const gw = await startGateway(t, poolYaml(backends, '', '    algorithm: round-robin\n'))
  const pool = gw.app.pools.get('web')!
  t.same(await sequence(gw.url, 3), ['b1', 'b2', 'b3'])

  t.equal(pool.setEnabled(idOf(backends[1]!), false), true)
  // Turns go b1, b2 (disabled: passes on to b3), b3, b1, b2 (→ b3), b3.
  t.same(await sequence(gw.url, 6), ['b1', 'b3', 'b1', 'b3', 'b1', 'b3'])
  t.equal(backends[1]!.seen.length, 1, 'b2 got nothing while disabled')

  t.equal(pool.setEnabled(idOf(backends[1]!), true), true)
  t.same(await sequence(gw.url, 6), ['b1', 'b2', 'b3', 'b1', 'b2', 'b3'])
})
