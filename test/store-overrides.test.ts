// The admin API's backend changes as data (lib/store/overrides.ts): applyOverrides puts them on
// top of a config document (remove, then add, then set), keeps what still applies and says in
// one line each what no longer does; withAdded, withRemoved and withSet build them, and
// countOverrides counts them. All pure: neither the config nor the overrides given are changed.
import t from 'tap'
import { loadConfigText } from '../lib/config/load.js'
import type { GatewayConfig } from '../lib/config/types.js'
import { applyOverrides, countOverrides, withAdded, withRemoved, withSet } from '../lib/store/overrides.js'
import type { Overrides } from '../lib/store/types.js'

// An HTTP pool `web` with three backends (a has weight 2) and a tcp pool `db` with one.
const YAML = [
  'pools:',
  '  web:',
  '    backends:',
  '      - { id: a, url: "http://10.0.0.1:8080", weight: 2 }',
  '      - { id: b, url: "http://10.0.0.2:8080" }',
  '      - { id: c, url: "http://10.0.0.3:8080" }',
  '  db:',
  '    backends:',
  '      - { id: d1, url: "tcp://10.0.1.1:5432" }',
  ''
].join('\n')

const load = (text: string = YAML): GatewayConfig => loadConfigText(text, { env: {} })

const A = { id: 'a', url: 'http://10.0.0.1:8080', weight: 2, enabled: true, drain: false }
const B = { id: 'b', url: 'http://10.0.0.2:8080', weight: 1, enabled: true, drain: false }
const C = { id: 'c', url: 'http://10.0.0.3:8080', weight: 1, enabled: true, drain: false }
const D1 = { id: 'd1', url: 'tcp://10.0.1.1:5432', weight: 1, enabled: true, drain: false }

t.test('the fixture config loads as expected', async (t) => {
  const config = load()
  t.same(config.pools.web.backends, [A, B, C], 'web has a, b and c with their defaults')
  t.equal(config.pools.web.protocol, 'http', 'web is an HTTP pool')
  t.same(config.pools.db.backends, [D1], 'db has d1')
  t.equal(config.pools.db.protocol, 'tcp', 'db is a tcp pool')
})

t.test('no overrides: the config is returned as it is, nothing kept or dropped', async (t) => {
  const config = load()
  const r = applyOverrides(config, {})
  t.same(r.config, config, 'same contents')
  t.same(r.kept, {}, 'nothing kept')
  t.same(r.dropped, [], 'nothing dropped')
})

t.test('adding a backend appends it to the pool, enabled and not draining', async (t) => {
  const ov: Overrides = { web: { remove: [], add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 5 }], set: {} } }
  const r = applyOverrides(load(), ov)
  t.same(r.config.pools.web.backends, [A, B, C, { id: 'n', url: 'http://10.0.0.9:80', weight: 5, enabled: true, drain: false }],
    'the added backend comes after the document\'s ones')
  t.same(r.kept, ov, 'the add still applies, so it is kept')
  t.same(r.dropped, [], 'nothing dropped')
  t.same(r.config.pools.db.backends, [D1], 'another pool is untouched')
})

t.test('an added tcp backend goes into a tcp pool', async (t) => {
  const ov: Overrides = { db: { remove: [], add: [{ id: 'd2', url: 'tcp://10.0.1.2:5432', weight: 1 }], set: {} } }
  const r = applyOverrides(load(), ov)
  t.same(r.config.pools.db.backends, [D1, { id: 'd2', url: 'tcp://10.0.1.2:5432', weight: 1, enabled: true, drain: false }], 'd2 is appended to db')
  t.same(r.kept, ov, 'the add is kept')
  t.same(r.dropped, [], 'nothing dropped')
})

t.test('removing a backend takes it out of the pool', async (t) => {
  const ov: Overrides = { web: { remove: ['b'], add: [], set: {} } }
  const r = applyOverrides(load(), ov)
  t.same(r.config.pools.web.backends, [A, C], 'b is gone, the order of the rest is kept')
  t.same(r.kept, ov, 'the remove is kept')
  t.same(r.dropped, [], 'nothing dropped')
})

t.test('set re-weights, disables and drains backends; fields it does not name stay', async (t) => {
  const ov: Overrides = { web: { remove: [], add: [], set: { a: { weight: 7 }, b: { enabled: false }, c: { drain: true } } } }
  const r = applyOverrides(load(), ov)
  t.same(r.config.pools.web.backends, [
    { ...A, weight: 7 },
    { ...B, enabled: false },
    { ...C, drain: true }
  ], 'a re-weighted, b disabled, c draining; url and the other fields as the document says')
  t.same(r.kept, ov, 'all three sets are kept')
  t.same(r.dropped, [], 'nothing dropped')
})

t.test('set can turn back what the document says (enabled: true over enabled: false)', async (t) => {
  const config = load(YAML.replace('{ id: b, url: "http://10.0.0.2:8080" }', '{ id: b, url: "http://10.0.0.2:8080", enabled: false, drain: true }'))
  t.same(config.pools.web.backends[1], { ...B, enabled: false, drain: true }, 'the document disables and drains b')
  const r = applyOverrides(config, { web: { remove: [], add: [], set: { b: { enabled: true, drain: false } } } })
  t.same(r.config.pools.web.backends[1], B, 'false and true from set win over the document (?? keeps false)')
})

t.test('the order is remove, then add, then set', async (t) => {
  // set applies to an added backend (add ran before it) and to the document's remaining ones;
  // the removed one is no longer there to be set.
  const ov: Overrides = {
    web: {
      remove: ['a'],
      add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 3 }],
      set: { n: { drain: true, weight: 9 }, c: { enabled: false } }
    }
  }
  const r = applyOverrides(load(), ov)
  t.same(r.config.pools.web.backends, [
    B,
    { ...C, enabled: false },
    { id: 'n', url: 'http://10.0.0.9:80', weight: 9, enabled: true, drain: true }
  ], 'a removed, n appended, then n and c changed')
  t.same(r.kept, ov, 'everything still applies')
  t.same(r.dropped, [], 'nothing dropped')
})

t.test('a set for a backend the same overrides remove is left out of kept without a line', async (t) => {
  // The remove says what happened to it; withRemoved never leaves such a set, this is the
  // behaviour for a hand-made one.
  const r = applyOverrides(load(), { web: { remove: ['a'], add: [], set: { a: { weight: 4 } } } })
  t.same(r.config.pools.web.backends, [B, C], 'a is removed')
  t.same(r.kept, { web: { remove: ['a'], add: [], set: {} } }, 'the remove is kept, the set for a is not')
  t.same(r.dropped, [], 'and no line for it')
})

t.test('neither the config nor the overrides given are changed', async (t) => {
  const config = load()
  const before = structuredClone(config)
  const ov: Overrides = {
    web: { remove: ['b'], add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 3 }], set: { a: { weight: 8, drain: true }, gone: { weight: 1 } } },
    old: { remove: ['x'], add: [], set: {} }
  }
  const ovBefore = structuredClone(ov)
  const r = applyOverrides(config, ov)
  t.same(config, before, 'the config is as it was')
  t.same(ov, ovBefore, 'the overrides are as they were')
  t.not(r.config, config, 'a new config object')
  t.not(r.config.pools, config.pools, 'a new pools object')
  t.not(r.config.pools.web, config.pools.web, 'a new pool object for a pool with overrides')
  t.equal(config.pools.web.backends.length, 3, 'the original backends array still has 3 entries')
  t.equal(config.pools.web.backends[0].weight, 2, 'the original backend a keeps weight 2')
  t.equal(config.pools.web.backends[0].drain, false, 'the original backend a is not draining')
  t.equal(r.config.pools.web.backends[0].weight, 8, 'while the result has a re-weighted')
  t.equal(r.config.pools.db, config.pools.db, 'a pool without overrides is shared as it is')
})

t.test('overrides of a pool no longer in the config are dropped with one line', async (t) => {
  const ov: Overrides = {
    old: {
      remove: ['x', 'y'],
      add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 1 }],
      set: { z: { weight: 3, enabled: false } }
    },
    web: { remove: ['a'], add: [], set: {} }
  }
  const r = applyOverrides(load(), ov)
  t.same(r.dropped, ['pool "old" is no longer in the config: its admin API changes are dropped (added n; removed x; removed y; z: weight 3, enabled false)'],
    'one line for the whole pool, listing its changes')
  t.same(r.kept, { web: { remove: ['a'], add: [], set: {} } }, 'kept omits the pool; the other pool is kept')
  t.notOk('old' in r.config.pools, 'the pool is not brought back')
  t.same(Object.keys(r.config.pools).sort(), ['db', 'web'], 'the pools are the document\'s')
})

t.test('a removed id no longer in the config is dropped', async (t) => {
  const r = applyOverrides(load(), { web: { remove: ['zz', 'b'], add: [], set: {} } })
  t.same(r.dropped, ['web/zz was removed through the admin API and is no longer in the config either'], 'one line for zz')
  t.same(r.kept, { web: { remove: ['b'], add: [], set: {} } }, 'the remove of b still applies')
  t.same(r.config.pools.web.backends, [A, C], 'b is removed')
})

t.test('a pool whose overrides all no longer apply is left out of kept', async (t) => {
  const r = applyOverrides(load(), { web: { remove: ['zz'], add: [], set: {} } })
  t.same(r.kept, {}, 'no empty entry for web')
  t.equal(r.dropped.length, 1, 'the remove of zz is said')
  t.same(r.config.pools.web.backends, [A, B, C], 'the pool is as the document says')
})

t.test('an added backend whose id the config now has itself: the config\'s entry wins', async (t) => {
  const ov: Overrides = { web: { remove: [], add: [{ id: 'b', url: 'http://10.9.9.9:1', weight: 6 }], set: {} } }
  const r = applyOverrides(load(), ov)
  t.same(r.dropped, ['web/b was added through the admin API and is now in the config: the config\'s entry is used'], 'one line for b')
  t.same(r.kept, {}, 'the add is not kept')
  t.same(r.config.pools.web.backends, [A, B, C], 'b is the document\'s (url and weight), once')
})

t.test('a set for an added backend the config now has applies to the config\'s entry', async (t) => {
  const r = applyOverrides(load(), { web: { remove: [], add: [{ id: 'b', url: 'http://10.9.9.9:1', weight: 6 }], set: { b: { drain: true } } } })
  t.same(r.config.pools.web.backends, [A, { ...B, drain: true }, C], 'the document\'s b, draining')
  t.same(r.kept, { web: { remove: [], add: [], set: { b: { drain: true } } } }, 'the set is kept, the add is not')
  t.equal(r.dropped.length, 1, 'only the add is dropped')
})

t.test('an added backend of the wrong kind for the pool is dropped', async (t) => {
  // `db` was an HTTP pool when the http backend was added; the document now makes it tcp.
  const r = applyOverrides(load(), {
    db: { remove: [], add: [{ id: 'h', url: 'http://10.0.0.9:80', weight: 1 }], set: {} },
    web: { remove: [], add: [{ id: 't', url: 'tcp://10.0.1.9:5432', weight: 1 }], set: {} }
  })
  t.same(r.dropped, [
    'db/h (http://10.0.0.9:80) was added through the admin API but pool "db" now takes tcp:// backends',
    'web/t (tcp://10.0.1.9:5432) was added through the admin API but pool "web" now takes http(s):// backends'
  ], 'one line each, saying what the pool takes')
  t.same(r.kept, {}, 'neither add is kept')
  t.same(r.config.pools.db.backends, [D1], 'db has only its own backend')
  t.same(r.config.pools.web.backends, [A, B, C], 'web has only its own backends')
})

t.test('a set for a backend that is gone is dropped', async (t) => {
  const r = applyOverrides(load(), { web: { remove: [], add: [], set: { gone: { weight: 5, drain: true }, a: { enabled: false } } } })
  t.same(r.dropped, ['web/gone is no longer in the config: its admin API change (weight 5, drain true) is dropped'], 'one line naming the change')
  t.same(r.kept, { web: { remove: [], add: [], set: { a: { enabled: false } } } }, 'the set for a is kept')
  t.same(r.config.pools.web.backends, [{ ...A, enabled: false }, B, C], 'a is disabled')
})

t.test('a set for an added backend whose add was dropped is dropped too, one line each', async (t) => {
  const r = applyOverrides(load(), { db: { remove: [], add: [{ id: 'h', url: 'http://10.0.0.9:80', weight: 1 }], set: { h: { weight: 2 } } } })
  t.same(r.dropped, [
    'db/h (http://10.0.0.9:80) was added through the admin API but pool "db" now takes tcp:// backends',
    'db/h is no longer in the config: its admin API change (weight 2) is dropped'
  ], 'the add, then its set')
  t.same(r.kept, {}, 'nothing kept')
})

t.test('several things dropped at once: one line each, in pool order, remove, add, set', async (t) => {
  const r = applyOverrides(load(), {
    gone: { remove: ['q'], add: [], set: {} },
    web: {
      remove: ['zz', 'a'],
      add: [{ id: 'c', url: 'http://10.9.9.9:1', weight: 1 }, { id: 'n', url: 'http://10.0.0.9:80', weight: 1 }],
      set: { nope: { enabled: true }, n: { weight: 4 } }
    }
  })
  t.same(r.dropped, [
    'pool "gone" is no longer in the config: its admin API changes are dropped (removed q)',
    'web/zz was removed through the admin API and is no longer in the config either',
    'web/c was added through the admin API and is now in the config: the config\'s entry is used',
    'web/nope is no longer in the config: its admin API change (enabled true) is dropped'
  ], 'four lines in that order')
  t.same(r.kept, { web: { remove: ['a'], add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 1 }], set: { n: { weight: 4 } } } }, 'what still applies is kept')
  t.same(r.config.pools.web.backends, [B, C, { id: 'n', url: 'http://10.0.0.9:80', weight: 4, enabled: true, drain: false }], 'a removed; the document\'s c, once; n added and re-weighted')
})

t.test('withAdded records an add, replacing an earlier add of the same id', async (t) => {
  const first = withAdded({}, 'web', { id: 'n', url: 'http://10.0.0.9:80', weight: 1 })
  t.same(first, { web: { remove: [], add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 1 }], set: {} } }, 'a new pool entry is created')
  const second = withAdded(first, 'web', { id: 'm', url: 'http://10.0.0.8:80', weight: 2 })
  const third = withAdded(second, 'web', { id: 'n', url: 'http://10.0.0.7:80', weight: 3 })
  t.same(third.web.add, [{ id: 'm', url: 'http://10.0.0.8:80', weight: 2 }, { id: 'n', url: 'http://10.0.0.7:80', weight: 3 }],
    'the same id again replaces the first add and goes last')
  t.same(first.web.add, [{ id: 'n', url: 'http://10.0.0.9:80', weight: 1 }], 'the overrides given are not changed')
  t.same(second.web.add.map((a) => a.id), ['n', 'm'], 'a different id is appended')
  const other = withAdded(third, 'db', { id: 'd2', url: 'tcp://10.0.1.2:5432', weight: 1 })
  t.equal(other.web, third.web, 'another pool\'s entry is shared as it is')
  t.same(other.db, { remove: [], add: [{ id: 'd2', url: 'tcp://10.0.1.2:5432', weight: 1 }], set: {} }, 'db gets its own entry')
})

t.test('withRemoved of a document\'s backend records a remove (once) and drops its set', async (t) => {
  const start: Overrides = { web: { remove: [], add: [], set: { b: { weight: 4 }, c: { drain: true } } } }
  const ov = withRemoved(start, 'web', 'b')
  t.same(ov, { web: { remove: ['b'], add: [], set: { c: { drain: true } } } }, 'b is removed and its set gone; c\'s set stays')
  t.same(withRemoved(ov, 'web', 'b'), ov, 'removing it again does not list it twice')
  t.same(start.web.set, { b: { weight: 4 }, c: { drain: true } }, 'the overrides given are not changed')
  t.same(withRemoved({}, 'db', 'd1'), { db: { remove: ['d1'], add: [], set: {} } }, 'a new pool entry is created')
})

t.test('withRemoved of an added backend forgets the add instead of recording a remove', async (t) => {
  let ov = withAdded({}, 'web', { id: 'n', url: 'http://10.0.0.9:80', weight: 1 })
  ov = withSet(ov, 'web', 'n', { weight: 5 })
  ov = withSet(ov, 'web', 'a', { enabled: false })
  const removed = withRemoved(ov, 'web', 'n')
  t.same(removed, { web: { remove: [], add: [], set: { a: { enabled: false } } } }, 'no add, no remove, no set for n; a\'s set stays')
  t.same(applyOverrides(load(), removed).config.pools.web.backends, [{ ...A, enabled: false }, B, C], 'the pool is as the document says, bar a')
  t.equal(ov.web.add.length, 1, 'the overrides given still have the add')
  t.same(ov.web.set.n, { weight: 5 }, 'and the set')
})

t.test('withSet merges changes into a backend\'s overrides', async (t) => {
  const one = withSet({}, 'web', 'a', { weight: 3 })
  t.same(one, { web: { remove: [], add: [], set: { a: { weight: 3 } } } }, 'a new pool entry with the change')
  const two = withSet(one, 'web', 'a', { drain: true })
  t.same(two.web.set.a, { weight: 3, drain: true }, 'the earlier weight stays beside the drain')
  const three = withSet(two, 'web', 'a', { weight: 6, enabled: false })
  t.same(three.web.set.a, { weight: 6, drain: true, enabled: false }, 'a later value of a field wins')
  t.same(one.web.set.a, { weight: 3 }, 'the overrides given are not changed')
  const other = withSet(three, 'web', 'b', { enabled: false })
  t.same(other.web.set, { a: { weight: 6, drain: true, enabled: false }, b: { enabled: false } }, 'another backend has its own entry')
  t.same(applyOverrides(load(), other).config.pools.web.backends, [{ ...A, weight: 6, drain: true, enabled: false }, { ...B, enabled: false }, C], 'the merged changes apply')
})

t.test('countOverrides counts removes, adds and sets over all pools', async (t) => {
  t.equal(countOverrides({}), 0, 'none')
  t.equal(countOverrides({ web: { remove: [], add: [], set: {} } }), 0, 'an empty pool entry counts nothing')
  t.equal(countOverrides({
    web: { remove: ['a', 'b'], add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 1 }], set: { c: { weight: 2, drain: true } } },
    db: { remove: ['d1'], add: [], set: { x: { enabled: false }, y: { weight: 1 } } }
  }), 7, '2 removes + 1 add + 1 set (one per backend, not per field) in web, 1 remove + 2 sets in db')
})

// Regression (found in review): DELETE of a document's backend, then POST with the same id, kept
// both a remove and an add of "b"; the add was dropped as "now in the config", so b was gone.
t.test('a document backend removed and added again with the same id is served from the add', async (t) => {
  const ov = withAdded(withRemoved({}, 'web', 'b'), 'web', { id: 'b', url: 'http://10.0.0.9:8080', weight: 3 })
  const { config, kept, dropped } = applyOverrides(load(), ov)
  t.same(config.pools.web!.backends, [A, C, { id: 'b', url: 'http://10.0.0.9:8080', weight: 3, enabled: true, drain: false }], 'the removed entry is gone and the added one serves')
  t.same(dropped, [], 'nothing is dropped')
  t.same(kept, ov, 'both changes are kept')
})
