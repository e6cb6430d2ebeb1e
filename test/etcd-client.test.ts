// lib/store/etcd-client.ts against a real etcd: leases (their int64 ids survive the trip: they
// do not fit a double, which once broke registration), transactions, prefix ranges, and
// username/password authentication with etcd's auth turned on (a wrong password is refused,
// saying so, and is not mistaken for etcd being down).
import t from 'tap'
import { EtcdClient, EtcdRefused, prefixEnd64 } from '../lib/store/etcd-client.js'
import { etcdMissing, startEtcd } from './helpers/etcd.js'

t.equal(Buffer.from(prefixEnd64('/ub/'), 'base64').toString(), '/ub0', 'the range end of a prefix is the prefix with its last byte plus one')
t.same([...Buffer.from(prefixEnd64('a\xff'), 'base64')], [0x61, 0xc3, 0xc0], 'bytes below 0xff are incremented (UTF-8 of ÿ is c3 bf)')

if (etcdMissing !== undefined) {
  t.comment(`skipped the real-etcd part: ${etcdMissing}`)
} else {
  t.test('leases, transactions and ranges', async (t) => {
    const etcd = await startEtcd(t)
    const c = etcd.client
    const lease = await c.leaseGrant(5)
    t.match(lease, /^\d+$/, 'a lease id is a decimal string')
    await c.put('/x/members/a', 'A', lease)
    await c.put('/x/members/b', 'B')
    await c.put('/x/other', 'O')
    t.same((await c.list('/x/members/')).kvs.map((kv) => [kv.key, kv.value, kv.lease]), [['/x/members/a', 'A', lease], ['/x/members/b', 'B', '0']], 'a prefix range, with the lease id as granted')
    t.equal(await c.leaseKeepAlive(lease), true)
    await c.leaseRevoke(lease)
    t.equal(await c.leaseKeepAlive(lease), false, 'a revoked lease is reported gone')
    t.same((await c.list('/x/members/')).kvs.map((kv) => kv.key), ['/x/members/b'], 'and its key went with it')

    const first = await c.putIfUnchanged('/x/state', 'v1', 0)
    t.equal(first.ok, true, 'create if absent')
    const stale = await c.putIfUnchanged('/x/state', 'v2', 0)
    t.same(stale.ok ? undefined : stale.current?.value, 'v1', 'a stale transaction fails and returns what is there')
    const ok = await c.putIfUnchanged('/x/state', 'v2', first.ok ? first.modRevision : -1)
    t.equal(ok.ok, true)
    t.equal((await c.get('/x/state')).kv?.value, 'v2')
  })

  t.test('username and password with etcd auth on', async (t) => {
    const etcd = await startEtcd(t)
    const post = async (path: string, body: unknown): Promise<void> => {
      const r = await fetch(`${etcd.url}/v3/auth/${path}`, { method: 'POST', body: JSON.stringify(body) })
      if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`)
    }
    await post('user/add', { name: 'root', password: 'pw' })
    await post('role/add', { name: 'root' })
    await post('user/grant', { user: 'root', role: 'root' })
    await post('enable', {})
    const good = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 2000, username: 'root', password: 'pw' })
    const bad = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 2000, username: 'root', password: 'wrong' })
    const none = new EtcdClient({ endpoints: [etcd.url], timeoutMs: 2000 })
    t.teardown(async () => { await Promise.all([good.close(), bad.close(), none.close()]) })
    await good.put('/secure/k', 'v')
    t.equal((await good.get('/secure/k')).kv?.value, 'v', 'the right password reads and writes')
    await t.rejects(bad.get('/secure/k'), EtcdRefused, 'a wrong password is refused (not "unreachable")')
    await t.rejects(bad.get('/secure/k'), /authentication failed/)
    await t.rejects(none.get('/secure/k'), EtcdRefused, 'no user at all is refused too')
  })
}
