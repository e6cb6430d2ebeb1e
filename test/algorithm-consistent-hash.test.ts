// consistent-hash, ring and maglev: stable keys, even shares, few moves on membership changes,
// failover to other backends for an unusable one and back again.
import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { consistentHash, ConsistentHashOptions, type ConsistentHashOptionsValue } from '../algorithms/consistent-hash.js'
import { isPrime, nextPrime } from '../algorithms/maglev.js'
import { hash32 } from '../algorithms/hash.js'
import { fakeBackends, seededDeps, type FakeBackend } from './helpers/seeded-random.js'

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)
const FIVE = { b1: 1, b2: 1, b3: 1, b4: 1, b5: 1 }
const always = (): boolean => true

function build (method: 'ring' | 'maglev', weights: Record<string, number>, extra: Partial<ConsistentHashOptionsValue> = {}) {
  const algo = consistentHash.create<FakeBackend>({ key: 'ip', method, ...extra }, seededDeps())
  algo.update(fakeBackends(weights))
  return algo
}

type Algo = ReturnType<typeof build>
const owner = (algo: Algo, key: string, usable: (b: FakeBackend) => boolean = always): string | undefined =>
  algo.pick({ attempt: 0, key }, usable)?.id
const assign = (algo: Algo, usable?: (b: FakeBackend) => boolean): string[] => KEYS.map((k) => owner(algo, k, usable)!)

function shares (assigned: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const id of assigned) out[id] = (out[id] ?? 0) + 1 / assigned.length
  return out
}

for (const method of ['ring', 'maglev'] as const) {
  t.test(`${method}: the same key goes to the same backend, also in a fresh instance`, async (t) => {
    const a = build(method, FIVE)
    const first = assign(a)
    t.same(assign(a), first)
    t.same(assign(build(method, FIVE)), first)
  })

  t.test(`${method}: 10,000 keys over 5 backends give each 20% ± 6%`, async (t) => {
    const got = shares(assign(build(method, FIVE)))
    t.comment(`${method} shares: ${JSON.stringify(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, +v.toFixed(4)])))}`)
    t.same(Object.keys(got).sort(), Object.keys(FIVE))
    for (const [id, s] of Object.entries(got)) t.ok(Math.abs(s - 0.2) <= 0.06, `${id}: ${s.toFixed(3)}`)
  })

  t.test(`${method}: shares follow configured weights`, async (t) => {
    const got = shares(assign(build(method, { a: 1, b: 2, c: 3 })))
    for (const [id, s] of Object.entries({ a: 1 / 6, b: 2 / 6, c: 3 / 6 })) {
      t.ok(Math.abs(got[id]! - s) <= 0.04, `${id}: ${got[id]!.toFixed(3)} near ${s.toFixed(3)}`)
    }
  })

  t.test(`${method}: an unusable backend's keys go elsewhere and come back`, async (t) => {
    const algo = build(method, FIVE)
    const before = assign(algo)
    const during = assign(algo, (b) => b.id !== 'b3')
    t.notOk(during.includes('b3'))
    t.ok(KEYS.every((_, i) => before[i] === 'b3' || during[i] === before[i]), 'other keys stay put')
    const spread = shares(during.filter((_, i) => before[i] === 'b3'))
    t.equal(Object.keys(spread).length, 4, 'b3\'s keys are spread over all four others')
    t.same(assign(algo), before, 'all keys back once b3 is usable again')
    t.equal(owner(algo, 'user-1', () => false), undefined, 'nothing usable: undefined')
  })

  t.test(`${method}: no key picks a random usable backend`, async (t) => {
    const algo = build(method, FIVE)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) seen.add(algo.pick({ attempt: 0, key: undefined }, always)!.id)
    t.equal(seen.size, 5)
    t.equal(algo.pick({ attempt: 0, key: undefined }, (b) => b.id === 'b4')?.id, 'b4')
  })

  t.test(`${method}: no backends, no pick`, async (t) => {
    const algo = build(method, {})
    t.equal(owner(algo, 'user-1'), undefined)
  })
}

/** Fraction of keys whose backend differs, and of those not on `removed` that moved. */
function moves (before: string[], after: string[], removed?: string) {
  let moved = 0
  let movedOthers = 0
  let others = 0
  before.forEach((id, i) => {
    if (id !== after[i]) moved++
    if (id !== removed) {
      others++
      if (id !== after[i]) movedOthers++
    }
  })
  return { moved: moved / before.length, movedOthers: movedOthers / others }
}

t.test('removing or adding a backend: ring moves only the keys it must', async (t) => {
  const before = assign(build('ring', FIVE))
  const { b5: _, ...four } = FIVE
  const removed = moves(before, assign(build('ring', four)), 'b5')
  const added = moves(before, assign(build('ring', { ...FIVE, b6: 1 })))
  const toNew = assign(build('ring', { ...FIVE, b6: 1 })).every((id, i) => id === before[i] || id === 'b6')
  t.comment(`ring: remove b5 moves ${removed.moved}, others ${removed.movedOthers}; add b6 moves ${added.moved}`)
  t.ok(removed.moved <= 0.25)
  t.equal(removed.movedOthers, 0, 'no key that was not on b5 moves')
  t.ok(added.moved <= 0.25 && added.moved >= 0.1, 'about 1/6 move when a 6th backend joins')
  t.ok(toNew, 'every moved key moved to the new backend')
})

t.test('removing or adding a backend: maglev moves few keys beyond those it must', async (t) => {
  // Maglev (NSDI 2016, 3.4) does not promise minimal disruption: a removed backend's slots are
  // refilled by the others' permutations, and that can shift some slots between survivors. The
  // paper shows this stays small when the table is much bigger than the backend count. With
  // 65537 slots and 5 backends we measured 0.11% of the survivors' keys moving and assert at
  // most 1%: room for a different hash seed, yet far below a broken table (hash mod N moves 80%).
  const before = assign(build('maglev', FIVE))
  const { b5: _, ...four } = FIVE
  const removed = moves(before, assign(build('maglev', four)), 'b5')
  const added = moves(before, assign(build('maglev', { ...FIVE, b6: 1 })))
  t.comment(`maglev: remove b5 moves ${removed.moved}, others ${removed.movedOthers}; add b6 moves ${added.moved}`)
  t.ok(removed.moved <= 0.25)
  t.ok(removed.movedOthers <= 0.01, 'survivors\' keys barely move')
  t.ok(added.moved <= 0.25 && added.moved >= 0.1, 'about 1/6 move when a 6th backend joins')
})

t.test('weights: all zero counts as all equal; huge ones scale the ring down, shares kept', async (t) => {
  for (const method of ['ring', 'maglev'] as const) {
    const got = shares(assign(build(method, { a: 0, b: 0 })))
    t.ok(Math.abs(got.a! - 0.5) <= 0.06, `${method}: a ${got.a!.toFixed(3)}`)
  }
  // 1000 vnodes × (1500 + 500) = 2,000,000 points wanted: over MAX_RING_POINTS, so halved.
  const got = shares(assign(build('ring', { a: 1500, b: 500 }, { vnodes: 1000 })))
  t.ok(Math.abs(got.a! - 0.75) <= 0.03, `a ${got.a!.toFixed(3)} near 0.75`)
})

t.test('ring: more backends than an owner index can address is refused', async (t) => {
  const tooMany = { length: 2 ** 21 + 1 } as unknown as FakeBackend[]
  t.throws(() => consistentHash.create<FakeBackend>({ key: 'ip' }, seededDeps()).update(tooMany), RangeError)
})

t.test('maglev: a table smaller than the backend list still finds every usable backend', async (t) => {
  const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`m${i}`, 1]))
  const algo = build('maglev', many, { tableSize: 7 })
  const inTable = new Set(assign(algo))
  const outside = Object.keys(many).find((id) => !inTable.has(id))!
  t.ok(outside !== undefined, 'some backend has no slot')
  t.equal(owner(algo, 'user-1', (b) => b.id === outside), outside)
})

t.test('options: schema, defaults, key source and a prime tableSize', async (t) => {
  t.same(Value.Default(ConsistentHashOptions, { key: 'ip' }), { key: 'ip', method: 'ring', vnodes: 160, tableSize: 65537 })
  t.notOk(Value.Check(ConsistentHashOptions, { method: 'ring' }), 'key is required')
  t.notOk(Value.Check(ConsistentHashOptions, { key: 'ip', vnodes: 0 }))
  t.notOk(Value.Check(ConsistentHashOptions, { key: 'ip', method: 'rendezvous' }))
  t.notOk(Value.Check(ConsistentHashOptions, { key: 'ip', tableSize: 2_000_003 }))
  t.same(consistentHash.key!({ key: { header: 'X-User' } }), { from: 'header', name: 'x-user' })
  t.throws(() => consistentHash.create({ key: 'ip', method: 'maglev', tableSize: 65536 }, seededDeps()),
    { message: 'must be a prime number (got 65536); the next prime is 65537', option: 'tableSize' })
  t.doesNotThrow(() => consistentHash.create({ key: 'ip', tableSize: 65536 }, seededDeps()), 'ring ignores tableSize')
  t.same([2, 3, 7, 65537, 1_000_003].map(isPrime), [true, true, true, true, true])
  t.same([0, 1, 9, 65535, 7.5].map(isPrime), [false, false, false, false, false])
  t.equal(nextPrime(1), 2)
  t.equal(nextPrime(1_000_000), 1_000_003)
})

t.test('hash32 is stable, seeded, and spreads similar keys', async (t) => {
  t.equal(hash32('user-1'), hash32('user-1'))
  t.not(hash32('user-1'), hash32('user-1', 1))
  t.not(hash32('user-1'), hash32('user-2'))
  // the top bit of consecutive keys is set about half the time (plain FNV-1a fails this less)
  const high = KEYS.filter((k) => hash32(k) >= 2 ** 31).length / KEYS.length
  t.ok(Math.abs(high - 0.5) < 0.03, `top bit set for ${high}`)
})
