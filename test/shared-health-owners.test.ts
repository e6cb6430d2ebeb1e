// Ownership of shared health checks (lib/store/shared-health.ts), without etcd: every member
// computes the same single owner per backend from the same list, a member leaving moves only the
// backends it owned, and a gateway with no member list (or missing from it) probes everything.
import t from 'tap'
import pino from 'pino'
import { SharedHealth } from '../lib/store/shared-health.js'
import type { EtcdClient } from '../lib/store/etcd-client.js'

// owns() and setMembers() never touch etcd; a client that throws proves it.
const noClient = new Proxy({}, { get: () => { throw new Error('etcd used') } }) as EtcdClient
const log = pino({ level: 'silent' })
const members = ['gw1', 'gw2', 'gw3']
const backends = Array.from({ length: 60 }, (_, i) => `10.0.0.${i}:80`)

function fleet (ids: string[]): SharedHealth[] {
  return ids.map((id) => {
    const s = new SharedHealth(noClient, '/p/', id, log)
    s.setMembers(ids)
    return s
  })
}

/** Owner of every backend as each member sees it; throws unless exactly one member claims it. */
function owners (gws: SharedHealth[]): string[] {
  return backends.map((b) => {
    const claim = gws.filter((g) => g.owns('web', b)).map((g) => g.self)
    if (claim.length !== 1) throw new Error(`${b} claimed by ${claim.join(',') || 'nobody'}`)
    return claim[0]
  })
}

t.test('one owner per backend, spread over the members', async (t) => {
  const before = owners(fleet(members))
  for (const m of members) t.ok(before.filter((o) => o === m).length >= 5, `${m} owns a share of 60 backends`)
  t.same(owners(fleet([...members].reverse())), before, 'the order of the member list does not matter')
})

t.test('a member leaving moves only its own backends', async (t) => {
  const before = owners(fleet(members))
  const after = owners(fleet(['gw1', 'gw3']))
  before.forEach((o, i) => {
    if (o !== 'gw2') t.equal(after[i], o, `${backends[i]} stays with ${o}`)
  })
  t.ok(before.includes('gw2') && !after.includes('gw2'), 'the backends gw2 owned moved to the others')
})

t.test('no member list, or not in it: probe everything', async (t) => {
  const alone = new SharedHealth(noClient, '/p/', 'gw1', log)
  t.ok(backends.every((b) => alone.owns('web', b)), 'no list yet')
  alone.setMembers(['gw2', 'gw3'])
  t.ok(backends.every((b) => alone.owns('web', b)), 'a list without this gateway (its registration lapsed)')
})

t.test("'owners' fires only when the member set changes", async (t) => {
  const s = new SharedHealth(noClient, '/p/', 'gw1', log)
  let fired = 0
  s.on('owners', () => { fired++ })
  s.setMembers(['gw1', 'gw2'])
  s.setMembers(['gw2', 'gw1', 'gw2'])
  t.equal(fired, 1, 'same set in another order, with a repeat: no event')
  s.setMembers(['gw1'])
  t.equal(fired, 2, 'a member left')
})
